//go:build race

package exclusion_test

// raceDetector is true under the race detector, where decoding runs
// several times slower.
const raceDetector = true
