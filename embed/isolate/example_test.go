package isolate_test

import (
	"context"
	"errors"
	"fmt"
	"image/color"

	"github.com/faceoptout/faceoptout/embed/isolate"
)

// A Pool answers as its embedder would; a worker that crashes costs one
// image an error and is replaced. Here the worker is this test binary
// (testConfig); a program passes its own arguments and calls
// ServeInherited from main when it sees them.
func ExamplePool() {
	ctx := context.Background()
	p, err := isolate.New(ctx, testConfig("ok"))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer p.Close()

	faces, err := p.Faces(ctx, faceImage(1, color.NRGBA{}))
	fmt.Println(len(faces), err)

	_, err = p.Faces(ctx, faceImage(1, triggerSegfault)) // the worker dies
	fmt.Println(errors.Is(err, isolate.ErrCrashed))

	faces, err = p.Faces(ctx, faceImage(2, color.NRGBA{})) // a new worker answers
	fmt.Println(len(faces), err)
	// Output:
	// 1 <nil>
	// true
	// 1 <nil>
}
