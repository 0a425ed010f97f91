//go:build race

package api

// raceDetector is whether the tests run under the race detector, which
// makes parsing some ten times slower: the heaviest tests send fewer
// requests then, enough to show the same bound.
const raceDetector = true
