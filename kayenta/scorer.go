package kayenta

import (
	"math"
	"math/big"
	"sort"
	"strconv"
)

// Summary score classification labels.
const (
	ScorePass     = "Pass"
	ScoreMarginal = "Marginal"
	ScoreFail     = "Fail"
)

// NodataThreshold is the percentage of Nodata results at or above which the
// canary fails.
const NodataThreshold = 50

// ScoreResult is the weighted-sum scorer's output.
type ScoreResult struct {
	// GroupScores has one entry per group present in the results, in order of
	// first appearance.
	GroupScores []GroupScore
	// Summary is the summary score, rounded HALF_UP to 2 decimals.
	Summary float64
	// Reason is the failure reason of the critical or NODATA rule, or "".
	Reason string
}

// weightedSumScore scores results exactly as upstream's WeightedSumScorer
// (no muted filter; see ScoreResults for the full path):
//
//   - group score = 100 × #Pass / (#Pass + #High + #Low + #NodataFailMetric),
//     0.0 when that denominator is 0;
//   - any critical non-Pass result forces 0.0 with reason
//     "Canary Failed: " + its classificationReason;
//   - else >= 50 % Nodata forces 0.0;
//   - else the weighted sum of group scores (a group without countable
//     results counts 100), weights not normalised, unweighted groups sharing
//     100 - sum(configured weights) equally, rounded HALF_UP on the decimal
//     string of the double (quirks Q10-Q13).
func weightedSumScore(groupWeights map[string]float64, results []AnalysisResult) ScoreResult {
	type counts struct{ pass, total int }
	var order []string
	byGroup := map[string]*counts{}
	for _, r := range results {
		for _, g := range r.Groups {
			c, ok := byGroup[g]
			if !ok {
				c = &counts{}
				byGroup[g] = c
				order = append(order, g)
			}
			switch r.Label {
			case Pass:
				c.pass++
				c.total++
			case High, Low, NodataFailMetric:
				c.total++
			}
		}
	}
	groupScores := make([]GroupScore, 0, len(order))
	noData := map[string]bool{}
	for _, g := range order {
		c := byGroup[g]
		score := 0.0
		if c.total == 0 {
			noData[g] = true
		} else {
			score = (float64(c.pass) / float64(c.total)) * 100
		}
		groupScores = append(groupScores, GroupScore{Name: g, Score: Float(score)})
	}
	out := ScoreResult{GroupScores: groupScores}

	for _, r := range results {
		if r.Critical && r.Label != Pass {
			reason := r.ClassificationReason
			if reason == "" {
				reason = "null" // upstream concatenates a null reason
			}
			out.Reason = "Canary Failed: " + reason
			return out
		}
	}
	nodata := 0
	for _, r := range results {
		if r.Label == Nodata {
			nodata++
		}
	}
	if len(results) > 0 && float64(nodata)/float64(len(results))*100 >= NodataThreshold {
		out.Reason = "Canary Failed: " + strconv.Itoa(NodataThreshold) + "% or more metrics returned NODATA"
		return out
	}

	// Sum the configured weights in key order so the result does not depend
	// on map iteration order.
	names := make([]string, 0, len(groupWeights))
	for g := range groupWeights {
		names = append(names, g)
	}
	sort.Strings(names)
	weightSum := 0.0
	for _, g := range names {
		weightSum += groupWeights[g]
	}
	unweighted := 0
	for _, g := range order {
		if _, ok := groupWeights[g]; !ok {
			unweighted++
		}
	}
	defaultWeight := 0.0
	if unweighted > 0 {
		defaultWeight = (100 - weightSum) / float64(unweighted)
	}
	sum := 0.0
	for _, gs := range groupScores {
		eff := float64(gs.Score)
		if noData[gs.Name] {
			eff = 100.0
		}
		w, ok := groupWeights[gs.Name]
		if !ok {
			w = defaultWeight
		}
		sum += float64(eff * (w / 100))
	}
	out.Summary = roundHalfUp(sum, 2)
	return out
}

// classifyScore classifies a summary score with inclusive thresholds:
// score >= pass is "Pass", else score >= marginal is "Marginal", else "Fail".
func classifyScore(score float64, t Thresholds) string {
	switch {
	case score >= t.Pass:
		return ScorePass
	case score >= t.Marginal:
		return ScoreMarginal
	}
	return ScoreFail
}

// ScoreResults is the judge's scoring step (upstream ScoringHelper): muted
// results are dropped, the rest scored by WeightedSumScore and the summary
// classified against the request thresholds. results is returned unchanged
// in the JudgeResult (muted results included).
func ScoreResults(cfg CanaryConfig, t Thresholds, results []AnalysisResult) JudgeResult {
	active := make([]AnalysisResult, 0, len(results))
	for _, r := range results {
		if !r.Muted {
			active = append(active, r)
		}
	}
	s := weightedSumScore(cfg.Classifier.GroupWeights, active)
	if results == nil {
		results = []AnalysisResult{}
	}
	return JudgeResult{
		JudgeName:   JudgeName,
		Results:     results,
		GroupScores: s.GroupScores,
		Score: Score{
			Score:                Float(s.Summary),
			Classification:       classifyScore(s.Summary, t),
			ClassificationReason: s.Reason,
		},
	}
}

// roundHalfUp rounds x to the given number of decimals like commons-math
// Precision.round: the shortest decimal string of the double is rounded
// HALF_UP (ties away from zero). It differs from math.Round(x*100)/100 on
// inputs such as 1.025 (quirk Q13). NaN and ±Inf are returned unchanged.
func roundHalfUp(x float64, decimals int) float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return x
	}
	r, ok := new(big.Rat).SetString(strconv.FormatFloat(x, 'g', -1, 64))
	if !ok {
		return x
	}
	scale := new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(decimals)), nil))
	neg := r.Sign() < 0
	r.Abs(r)
	r.Mul(r, scale)
	r.Add(r, big.NewRat(1, 2))
	n := new(big.Int).Quo(r.Num(), r.Denom()) // floor for non-negative values
	res := new(big.Rat).SetFrac(n, scale.Num())
	f, _ := res.Float64()
	if neg {
		f = -f
	}
	return f
}
