// Package numeric holds the floating-point kernels that Verdict's
// statistics share and that must give the same float64 on every
// architecture: R's zeroin root finder (Zeroin), R's normal distribution
// (Pnorm: Cody's algorithm; Qnorm: Wichura's AS 241), the exponential and
// logarithm they need (Exp, Log: math.Exp and math.Log run different code
// on amd64 and arm64), and the order-preserving integer image of float64
// (OrderedBits). judge, judge/stat and kayenta use these, and only
// these, copies.
//
// # Rounding
//
// Go lets a compiler fuse x*y + z into one multiply-add with a single
// rounding, and the arm64 compiler does (amd64's does from GOAMD64=v3 on),
// while R's compiled C on amd64 and Kayenta's Java round the product first.
// Where R or Kayenta equality is promised, every product that meets an
// addition or subtraction is therefore converted explicitly, float64(x*y),
// which the Go specification says rounds it: the result is then the same on
// amd64 and arm64. `make check-fma` (part of `make lint`) names any line of
// internal/numeric, judge/..., scoring and internal/archcheck where the
// arm64 compiler still fuses one; `make test-arm64` runs their tests
// built for arm64 under qemu-user, and internal/archcheck compares their
// results on both architectures bit for bit.
package numeric
