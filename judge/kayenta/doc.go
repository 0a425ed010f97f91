// Package kayenta is Verdict's Kayenta-compatible judge: a pure Go port of
// Netflix/Spinnaker Kayenta's NetflixACAJudge-v1.0.
package kayenta
