package index_test

import (
	"context"
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

// An Index in ModeAuto answers exactly while its graph builds in the
// background, then from the graph.
func ExampleIndex_Wait() {
	x, err := index.New(index.Config{Dim: 2, ExactUpTo: 2})
	if err != nil {
		panic(err)
	}
	defer x.Close()
	for i, v := range [][]float32{{0, 0}, {0, 1}, {1, 0}} {
		if err := x.Add(index.ID(i), v); err != nil { // the third starts the build
			panic(err)
		}
	}
	if err := x.Wait(context.Background()); err != nil {
		panic(err)
	}
	s := x.Status()
	fmt.Println(s.Kind, s.Len, s.Exact, s.Building)
	near, err := x.Within([]float32{0, 0.9}, 0.2, nil)
	if err != nil {
		panic(err)
	}
	fmt.Println(near[0].ID)
	// Output:
	// hnsw 3 false false
	// 1
}
