package stat

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/verdict-aca/verdict/internal/kayentavectors"
)

// TestKayentaMannWhitneyVectors checks the Mann-Whitney vectors of the Kayenta
// conformance suite whose expected values are R's (README of the suite): the
// interval ends (R's uniroot output, so within its 1e-4 tolerance), R's
// estimate (estimate_without_continuity_correction) and the normal
// approximation p-value. MW3 is skipped: its samples are small and untied, so
// R's default is the exact test while Kayenta always uses the normal
// approximation. MW2 and MW7 test solver internals that have no counterpart
// here.
func TestKayentaMannWhitneyVectors(t *testing.T) {
	path := filepath.Join(kayentavectors.Dir(t), "mannwhitney.json")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var suite struct {
		Cases []struct {
			ID     string `json:"id"`
			Call   string `json:"call"`
			Inputs struct {
				X          []rnum `json:"x"`
				Y          []rnum `json:"y"`
				Experiment []rnum `json:"experiment"`
				Control    []rnum `json:"control"`
			} `json:"inputs"`
			Params struct {
				ConfidenceLevel float64 `json:"confidence_level"`
			} `json:"params"`
			Expect []struct {
				Output string  `json:"output"`
				Value  *rnum   `json:"value"`
				AbsTol float64 `json:"abs_tol"`
				RelTol float64 `json:"rel_tol"`
			} `json:"expect"`
		} `json:"cases"`
	}
	if err := json.Unmarshal(b, &suite); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	checked := 0
	for _, c := range suite.Cases {
		if c.ID == "MW3" || (c.Call != "mann_whitney_u_test" && c.Call != "wilcoxon_diff") {
			continue
		}
		t.Run(c.ID, func(t *testing.T) {
			x, y := floats(c.Inputs.Experiment), floats(c.Inputs.Control)
			if c.Call == "wilcoxon_diff" {
				x, y = floats(c.Inputs.X), floats(c.Inputs.Y)
			}
			mw, err := NewMannWhitney(x, y)
			if err != nil {
				t.Fatal(err)
			}
			if mw.Exact() {
				t.Fatal("Kayenta's vectors here are tied samples; the test must not be exact")
			}
			var lo, hi float64
			if c.Call == "mann_whitney_u_test" {
				if lo, hi, err = mw.Interval(c.Params.ConfidenceLevel); err != nil {
					t.Fatal(err)
				}
			}
			n := int64(len(x)) * int64(len(y))
			gap := mw.Difference(n/2+1) - mw.Difference(n/2)
			for _, e := range c.Expect {
				if e.Value == nil {
					continue
				}
				want := float64(*e.Value)
				var got, tol float64
				switch e.Output {
				case "ci_lower":
					got, tol = lo, unirootTol*math.Max(1, math.Abs(want))
				case "ci_upper":
					got, tol = hi, unirootTol*math.Max(1, math.Abs(want))
				case "estimate_without_continuity_correction":
					got, tol = mw.Estimate(), math.Max(unirootTol*math.Max(1, math.Abs(want)), gap)
				case "normal_approx_p_value_two_sided":
					got, tol = mw.PValue(), e.AbsTol+e.RelTol*math.Abs(want)
				default:
					continue
				}
				checked++
				if math.Abs(got-want) > tol {
					t.Errorf("%s = %.17g, want %.17g (tolerance %.3g)", e.Output, got, want, tol)
				}
			}
		})
	}
	if checked < 10 {
		t.Errorf("only %d Kayenta checks ran; the vector file changed?", checked)
	}
}
