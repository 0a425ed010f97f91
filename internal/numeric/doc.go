// Package numeric holds the floating-point kernels that Verdict's statistics
// share and that must give the same float64 on every architecture: R's
// zeroin root finder (Zeroin) and the order-preserving integer image of
// float64 (OrderedBits).
//
// # Rounding
//
// Go lets a compiler fuse x*y + z into one multiply-add with a single
// rounding, and the arm64 compiler does (amd64 does from GOAMD64=v3 on),
// while R's compiled C on amd64 and Kayenta's Java round the product first.
// Where R or Kayenta equality is promised, every product that meets an
// addition or subtraction is therefore converted explicitly, float64(x*y),
// which the Go specification says rounds it: the result is then the same on
// amd64 and arm64. `make check-fma` lists any fused multiply-add the arm64
// compiler still emits in the packages that promise it.
package numeric
