//go:build race

package imageutil

// raceEnabled reports whether the tests run under the race detector, which
// slows pixel loops down ten- to twentyfold.
const raceEnabled = true
