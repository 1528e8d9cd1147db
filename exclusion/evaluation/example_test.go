package evaluation_test

import (
	"fmt"

	"github.com/faceoptout/faceoptout/exclusion/evaluation"
)

// Two of 200 stranger probes blocked: the FPIR is 1 %, and the 95 % Wilson
// interval says it could well be anywhere from 0.3 % to 3.6 %.
func ExampleWilson() {
	r := evaluation.Wilson(2, 200, evaluation.Z95)
	fmt.Printf("FPIR %.1f %% [%.1f %%, %.1f %%]\n", 100*r.Value(), 100*r.Lo, 100*r.Hi)
	// Output: FPIR 1.0 % [0.3 %, 3.6 %]
}
