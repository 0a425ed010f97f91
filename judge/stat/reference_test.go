package stat

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"

	"github.com/verdict-aca/verdict/internal/numeric"
)

// rnum decodes a JSON number or one of the strings "NaN", "+Inf", "-Inf"
// (the R script writes non-finite values as strings).
type rnum float64

func (f *rnum) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		switch s {
		case "NaN":
			*f = rnum(math.NaN())
		case "+Inf":
			*f = rnum(math.Inf(1))
		case "-Inf":
			*f = rnum(math.Inf(-1))
		default:
			return fmt.Errorf("unexpected number string %q", s)
		}
		return nil
	}
	v, err := strconv.ParseFloat(string(b), 64)
	*f = rnum(v)
	return err
}

func floats(v []rnum) []float64 {
	out := make([]float64, len(v))
	for i, f := range v {
		out[i] = float64(f)
	}
	return out
}

type refInterval struct {
	Conf                 float64 `json:"conf"`
	Lo, Hi, Lower, Upper rnum
	LoTight              rnum `json:"lo_tight"`
	HiTight              rnum `json:"hi_tight"`
	LowerTight           rnum `json:"lower_tight"`
	UpperTight           rnum `json:"upper_tight"`
}

type refMW struct {
	ID            string        `json:"id"`
	X             []rnum        `json:"x"`
	Y             []rnum        `json:"y"`
	Exact         bool          `json:"exact"`
	W             rnum          `json:"W"`
	PTwoSided     rnum          `json:"p_two_sided"`
	PGreater      rnum          `json:"p_greater"`
	PLess         rnum          `json:"p_less"`
	Estimate      rnum          `json:"estimate"`
	EstimateTight rnum          `json:"estimate_tight"`
	Middle        []rnum        `json:"middle"`
	Intervals     []refInterval `json:"intervals"`
	Error         string        `json:"error"`
}

type refFence struct {
	Factor       float64 `json:"factor"`
	Lower, Upper rnum
	Kept         []rnum `json:"kept"`
}

type refDescribe struct {
	ID        string     `json:"id"`
	X         []rnum     `json:"x"`
	Probs     []float64  `json:"probs"`
	Quantiles []rnum     `json:"quantiles"`
	Mean      rnum       `json:"mean"`
	Median    rnum       `json:"median"`
	SD        rnum       `json:"sd"`
	Min       rnum       `json:"min"`
	Max       rnum       `json:"max"`
	Fences    []refFence `json:"fences"`
}

type reference struct {
	Generator   string        `json:"generator"`
	MannWhitney []refMW       `json:"mann_whitney"`
	Describe    []refDescribe `json:"describe"`
}

func loadReference(t *testing.T) reference {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "wilcox_reference.json"))
	if err != nil {
		t.Fatal(err)
	}
	var ref reference
	if err := json.Unmarshal(b, &ref); err != nil {
		t.Fatalf("wilcox_reference.json: %v", err)
	}
	if len(ref.MannWhitney) < 30 || len(ref.Describe) < 5 {
		t.Fatalf("reference has %d Mann-Whitney and %d describe cases; want the full set", len(ref.MannWhitney), len(ref.Describe))
	}
	return ref
}

// relClose reports |got-want| <= tol·max(1, |want|) (NaN matches NaN, equal
// infinities match).
func relClose(got, want, tol float64) bool {
	if math.IsNaN(want) || math.IsNaN(got) {
		return math.IsNaN(want) && math.IsNaN(got)
	}
	if got == want {
		return true
	}
	return math.Abs(got-want) <= tol*math.Max(1, math.Abs(want))
}

// sameBits reports whether got and want are the same float64, bit for bit
// (any NaN matches any NaN).
func sameBits(got, want float64) bool {
	return math.Float64bits(got) == math.Float64bits(want) || math.IsNaN(got) && math.IsNaN(want)
}

// withinULPs reports whether got is at most n representable float64 values
// away from want (NaN matches NaN).
func withinULPs(got, want float64, n uint64) bool {
	if math.IsNaN(got) || math.IsNaN(want) {
		return math.IsNaN(got) && math.IsNaN(want)
	}
	a, b := numeric.OrderedBits(got), numeric.OrderedBits(want)
	return max(a, b)-min(a, b) <= n
}

// relTo reports |got-want| <= tol·|want| (strictly relative, for values of any
// scale).
func relTo(got, want, tol float64) bool {
	if math.IsNaN(want) || math.IsNaN(got) {
		return math.IsNaN(want) && math.IsNaN(got)
	}
	if got == want {
		return true
	}
	return math.Abs(got-want) <= tol*math.Abs(want)
}

// What R's results are compared with: the same float64 on amd64 and arm64
// (make test-arm64 runs these tests there too), bit for bit where the
// package doc promises it.
const (
	exactTol   = 1e-9 // relative, exact-case p-values (R sums the counts in its own order)
	unirootTol = 1e-4 // R's default tol.root, scaled by max(1, |R|)
	tightTol   = 1e-9 // against R run with tol.root = 1e-12
	// normalEstTol is for the normal-case estimate, which replays R's
	// uniroot: the goal is bit-for-bit, this leaves room for the last ulps.
	normalEstTol = 1e-9
)

func TestMannWhitneyAgainstR(t *testing.T) {
	ref := loadReference(t)
	for _, c := range ref.MannWhitney {
		t.Run(c.ID, func(t *testing.T) {
			x, y := floats(c.X), floats(c.Y)
			mw, err := NewMannWhitney(x, y)
			if err != nil {
				t.Fatalf("NewMannWhitney: %v", err)
			}
			if c.Error != "" {
				// R stops: all observations tied. We must return an error, not panic.
				if _, _, err := mw.Interval(0.95); err == nil {
					t.Errorf("Interval: R errors (%q), got no error", c.Error)
				}
				if _, err := mw.LowerBound(0.95); err == nil {
					t.Errorf("LowerBound: R errors (%q), got no error", c.Error)
				}
				if _, err := mw.UpperBound(0.95); err == nil {
					t.Errorf("UpperBound: R errors (%q), got no error", c.Error)
				}
				return
			}
			if mw.Exact() != c.Exact {
				t.Errorf("Exact() = %v, R used exact = %v", mw.Exact(), c.Exact)
			}
			if got, want := mw.W(), float64(c.W); got != want {
				t.Errorf("W = %v, R %v", got, want)
			}
			for _, p := range []struct {
				name      string
				got, want float64
			}{
				{"p two-sided", mw.PValue(), float64(c.PTwoSided)},
				{"p greater", mw.PValueGreater(), float64(c.PGreater)},
				{"p less", mw.PValueLess(), float64(c.PLess)},
			} {
				if c.Exact && !relTo(p.got, p.want, exactTol) {
					t.Errorf("%s = %.17g, R %.17g", p.name, p.got, p.want)
				}
				// Normal case: R's pnorm (numeric.Pnorm) of R's statistic,
				// within the last ulp of exp.
				if !c.Exact && !withinULPs(p.got, p.want, 1) {
					t.Errorf("%s = %.17g, R %.17g (more than an ulp apart)", p.name, p.got, p.want)
				}
			}

			// The estimate is R's bit for bit: in the exact case the mean of
			// the two middle differences; in the normal case R's uniroot
			// (tol.root 1e-4) replayed step for step, also when nx*ny is even
			// and any point between the two middle differences is a root.
			est := mw.Estimate()
			rEst := float64(c.Estimate)
			if !sameBits(est, rEst) {
				t.Errorf("estimate = %.17g, R %.17g (|diff| %.3g)", est, rEst, math.Abs(est-rEst))
			}
			if len(c.Middle) == 2 && !math.IsNaN(float64(c.Middle[0])) {
				// Independent check of the selection: R sorted all differences.
				lo, hi := float64(c.Middle[0]), float64(c.Middle[1])
				if c.Exact {
					if hl := (lo + hi) / 2; !relTo(est, hl, 1e-12) {
						t.Errorf("estimate = %.17g, median of R's sorted differences %.17g", est, hl)
					}
				} else if slack := unirootTol * math.Max(1, math.Max(math.Abs(lo), math.Abs(hi))); !(est >= lo-slack && est <= hi+slack) {
					t.Errorf("estimate = %.17g, outside R's middle differences [%.17g, %.17g] by more than tol.root", est, lo, hi)
				}
			}

			// R's W(d) changes where x[i]-d == y[j] in float64, which locates a
			// breakpoint only to within the rounding of x[i]-d.
			var scale float64
			for _, v := range append(slices.Clone(x), y...) {
				scale = math.Max(scale, math.Abs(v))
			}
			roundSlack := 4 * 0x1p-52 * scale
			for _, iv := range c.Intervals {
				lo, hi, err := mw.Interval(iv.Conf)
				if err != nil {
					t.Fatalf("Interval(%v): %v", iv.Conf, err)
				}
				lower, err := mw.LowerBound(iv.Conf)
				if err != nil {
					t.Fatalf("LowerBound(%v): %v", iv.Conf, err)
				}
				upper, err := mw.UpperBound(iv.Conf)
				if err != nil {
					t.Fatalf("UpperBound(%v): %v", iv.Conf, err)
				}
				checks := []struct {
					name             string
					got, want, tight float64
				}{
					{"lo", lo, float64(iv.Lo), float64(iv.LoTight)},
					{"hi", hi, float64(iv.Hi), float64(iv.HiTight)},
					{"lower", lower, float64(iv.Lower), float64(iv.LowerTight)},
					{"upper", upper, float64(iv.Upper), float64(iv.UpperTight)},
				}
				for _, ch := range checks {
					if c.Exact {
						// Order statistics of the differences: R's, bit for bit.
						if !sameBits(ch.got, ch.want) {
							t.Errorf("conf %v %s = %.17g, R %.17g", iv.Conf, ch.name, ch.got, ch.want)
						}
						continue
					}
					if !relClose(ch.got, ch.want, unirootTol) {
						t.Errorf("conf %v %s = %.17g, R %.17g (tol.root 1e-4)", iv.Conf, ch.name, ch.got, ch.want)
					}
					if !relClose(ch.got, ch.tight, tightTol) && math.Abs(ch.got-ch.tight) > roundSlack {
						t.Errorf("conf %v %s = %.17g, R %.17g (tol.root 1e-12)", iv.Conf, ch.name, ch.got, ch.tight)
					}
				}
			}
		})
	}
}

func TestDescribeAgainstR(t *testing.T) {
	ref := loadReference(t)
	for _, c := range ref.Describe {
		t.Run(c.ID, func(t *testing.T) {
			x := floats(c.X)
			sorted := slices.Clone(x)
			slices.Sort(sorted)
			for i, p := range c.Probs {
				if got, want := Percentile(sorted, p), float64(c.Quantiles[i]); !sameBits(got, want) {
					t.Errorf("Percentile(%v) = %.17g, R quantile type 7 %.17g", p, got, want)
				}
			}
			s := Describe(x)
			if !sameBits(s.Median, float64(c.Median)) {
				t.Errorf("median = %.17g, R %.17g", s.Median, float64(c.Median))
			}
			// R accumulates the mean and variance in long double: to rounding.
			for _, ch := range []struct {
				name      string
				got, want float64
			}{
				{"mean", s.Mean, float64(c.Mean)},
				{"stddev", s.StdDev, float64(c.SD)},
				{"min", s.Min, float64(c.Min)},
				{"max", s.Max, float64(c.Max)},
			} {
				if !relTo(ch.got, ch.want, 1e-13) {
					t.Errorf("%s = %.17g, R %.17g", ch.name, ch.got, ch.want)
				}
			}
			if s.Count != len(x) {
				t.Errorf("count = %d, want %d", s.Count, len(x))
			}
			for _, f := range c.Fences {
				lo, hi := IQRFences(sorted, f.Factor)
				if !sameBits(lo, float64(f.Lower)) || !sameBits(hi, float64(f.Upper)) {
					t.Errorf("IQRFences(%v) = %.17g, %.17g; R %.17g, %.17g", f.Factor, lo, hi, float64(f.Lower), float64(f.Upper))
				}
				if got, want := RemoveOutliers(x, f.Factor), floats(f.Kept); !slices.Equal(got, want) {
					t.Errorf("RemoveOutliers(%v) = %v, R keeps %v", f.Factor, got, want)
				}
			}
		})
	}
}
