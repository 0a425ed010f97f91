package stat

import (
	"encoding/binary"
	"fmt"
	"math"
	"testing"
)

// decodeSamples turns fuzz bytes into two samples. The first byte picks the
// size of x; each following byte is a value on a coarse grid (many ties) unless
// mode asks for raw float64 bit patterns (any finite value).
func decodeSamples(data []byte, raw bool) (x, y []float64) {
	if len(data) < 3 {
		return nil, nil
	}
	split := int(data[0])
	data = data[1:]
	var vals []float64
	if raw {
		for len(data) >= 8 {
			v := math.Float64frombits(binary.LittleEndian.Uint64(data))
			data = data[8:]
			if math.IsNaN(v) || math.IsInf(v, 0) {
				continue
			}
			vals = append(vals, v)
		}
	} else {
		for _, b := range data {
			vals = append(vals, float64(int8(b))/4)
		}
	}
	if len(vals) < 2 {
		return nil, nil
	}
	k := 1 + split%(len(vals)-1)
	return vals[:k], vals[k:]
}

func FuzzMannWhitney(f *testing.F) {
	f.Add([]byte{3, 1, 2, 3, 4, 5, 6, 7}, false, uint8(95))
	f.Add([]byte{1, 0, 0, 0, 0}, false, uint8(50))
	f.Add([]byte{2, 0x80, 0x7f, 0, 0, 1, 1}, false, uint8(99))
	f.Fuzz(func(t *testing.T, data []byte, raw bool, confPct uint8) {
		x, y := decodeSamples(data, raw)
		if len(x) == 0 || len(y) == 0 {
			return
		}
		mw, err := NewMannWhitney(x, y)
		if err != nil {
			t.Fatalf("NewMannWhitney(%v, %v): %v", x, y, err)
		}
		for _, p := range []float64{mw.PValue(), mw.PValueGreater(), mw.PValueLess()} {
			if !math.IsNaN(p) && (p < 0 || p > 1) {
				t.Fatalf("p-value %v outside [0, 1] for %v, %v", p, x, y)
			}
		}
		est := mw.Estimate()
		conf := float64(confPct) / 100
		lo, hi, err := mw.Interval(conf)
		lower, errL := mw.LowerBound(conf)
		upper, errU := mw.UpperBound(conf)
		if conf <= 0 || conf >= 1 {
			if err == nil || errL == nil || errU == nil {
				t.Fatalf("conf %v accepted", conf)
			}
			return
		}
		if err != nil || errL != nil || errU != nil {
			return // all tied: reported as an error, as R does
		}
		if mw.Exact() {
			// The estimate is the median difference, exactly (NaN when the
			// middle differences are -Inf and +Inf).
			if !math.IsNaN(est) && !(lo <= est && est <= hi) {
				t.Fatalf("interval [%v, %v] at %v does not contain the estimate %v for %v, %v", lo, hi, conf, est, x, y)
			}
			// Below 50% a one-sided bound may pass the estimate (R agrees).
			if conf >= 0.5 && !math.IsNaN(est) && !(lower <= est && est <= upper) {
				t.Fatalf("one-sided bounds %v, %v at %v do not bracket the estimate %v for %v, %v", lower, upper, conf, est, x, y)
			}
			return
		}
		if err := endsAroundMiddle(mw, conf, lo, hi, lower, upper); err != nil {
			t.Fatalf("%v for %v, %v", err, x, y)
		}
		// Small samples: against the replay of R's wilcox.test.
		if len(x)+len(y) > maxReplayed || math.IsInf(mw.minDiff(), 0) || math.IsInf(mw.maxDiff(), 0) {
			return // R's uniroot cannot search an infinite range either
		}
		rlo, rhi, rlower, rupper, err := rBounds(x, y, conf, zeroinTol)
		if err != nil {
			return // R stops: all tied
		}
		for _, c := range []struct {
			name   string
			got, r float64
		}{{"lo", lo, rlo}, {"hi", hi, rhi}, {"lower", lower, rlower}, {"upper", upper, rupper}} {
			if !closeToR(c.got, c.r, x, y) {
				t.Fatalf("conf %v %s = %.17g, R %.17g for %v, %v", conf, c.name, c.got, c.r, x, y)
			}
		}
		if rest, err := rEstimate(x, y, zeroinTol); err == nil && !relClose(est, rest, normalEstTol) {
			t.Fatalf("estimate %.17g, R %.17g for %v, %v", est, rest, x, y)
		}
	})
}

// maxReplayed bounds the samples FuzzMannWhitney replays R on (rW sorts
// the pooled sample at every evaluation).
const maxReplayed = 80

// endsAroundMiddle checks that normal-case interval ends at level conf lie
// on the right side of the middle differences d(ceil(N/2)) and
// d(floor(N/2)+1), between which W(d) changes sign and the estimate's exact
// root lies: the interval, and at levels of 0.5 or more each one-sided
// bound, reaches at least to them. The slack is R's tolerance and the
// rounding of x[i] - d, for the ends replayed from R's uniroot (see roots).
func endsAroundMiddle(mw *MannWhitney, conf, lo, hi, lower, upper float64) error {
	n := int64(mw.NX()) * int64(mw.NY())
	mlo, mhi := mw.Difference((n+1)/2), mw.Difference(n/2+1)
	scale := math.Max(math.Max(math.Abs(mw.x[0]), math.Abs(mw.x[len(mw.x)-1])), math.Max(math.Abs(mw.y[0]), math.Abs(mw.y[len(mw.y)-1])))
	slack := math.Max(unirootTol*math.Max(1, math.Max(math.Abs(mlo), math.Abs(mhi))), 4*0x1p-52*scale)
	if !(lo <= mlo+slack && hi >= mhi-slack) {
		return fmt.Errorf("interval [%v, %v] at %v does not reach the middle differences %v, %v", lo, hi, conf, mlo, mhi)
	}
	// Below 50% a one-sided bound may pass the middle (R agrees).
	if conf >= 0.5 && !(lower <= mlo+slack && upper >= mhi-slack) {
		return fmt.Errorf("one-sided bounds %v, %v at %v do not reach the middle differences %v, %v", lower, upper, conf, mlo, mhi)
	}
	return nil
}
