package index_test

import (
	"fmt"

	"github.com/faceoptout/faceoptout/index"
)

func Example() {
	x, err := index.New(index.DefaultConfig())
	if err != nil {
		panic(err)
	}
	enrol := func(id index.ID, first float32) {
		v := make([]float32, 128)
		v[0] = first
		if err := x.Add(id, v); err != nil {
			panic(err)
		}
	}
	enrol(1, 0.1)
	enrol(2, 0.5)
	enrol(3, 2.0)

	crawled := make([]float32, 128)
	near, err := x.Within(crawled, 0.6, nil)
	if err != nil {
		panic(err)
	}
	for _, r := range near {
		fmt.Printf("id %d at %.1f\n", r.ID, r.Distance)
	}
	fmt.Println("exact:", x.Exact())
	// Output:
	// id 1 at 0.1
	// id 2 at 0.5
	// exact: true
}
