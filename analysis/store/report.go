package store

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/verdict-aca/verdict/analysis"
	"github.com/verdict-aca/verdict/metrics"
)

// NewID returns a new analysis id: a random version 4 UUID, the form
// Kayenta clients expect of execution ids.
func NewID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// OutcomeOf is the stored outcome of a finished analysis: its verdict, the
// verdict/report/v1 JSON, the raw series (for plots) and, in Kayenta mode,
// Kayenta's judgeResult.
func OutcomeOf(rep *analysis.Report) (Outcome, error) {
	report, err := json.Marshal(rep)
	if err != nil {
		return Outcome{}, fmt.Errorf("encode the report: %w", err)
	}
	o := Outcome{Status: Finished, Verdict: string(rep.Verdict), Score: rep.Score, Report: report, Series: EncodeSeries(rep.Series)}
	if rep.Kayenta != nil {
		if o.Kayenta, err = json.Marshal(rep.Kayenta); err != nil {
			return Outcome{}, fmt.Errorf("encode the Kayenta judge result: %w", err)
		}
	}
	return o, nil
}

// EncodeSeries writes raw series as JSON: times in unix milliseconds,
// NaN and infinities as null.
func EncodeSeries(list []analysis.SignalSeries) []byte {
	var b bytes.Buffer
	b.WriteByte('[')
	side := func(name string, s metrics.Series) {
		b.WriteString(`"` + name + `":{`)
		if len(s.Bounds) > 0 {
			b.WriteString(`"bounds":[`)
			for i, v := range s.Bounds {
				if i > 0 {
					b.WriteByte(',')
				}
				if math.IsInf(v, 1) {
					b.WriteString(`"+Inf"`)
				} else {
					b.WriteString(strconv.FormatFloat(v, 'g', -1, 64))
				}
			}
			b.WriteString("],")
		}
		b.WriteString(`"times":[`)
		for i, t := range s.Times {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(strconv.FormatInt(t.UnixMilli(), 10))
		}
		b.WriteString(`],"values":[`)
		for i, v := range s.Values {
			if i > 0 {
				b.WriteByte(',')
			}
			if math.IsNaN(v) || math.IsInf(v, 0) {
				b.WriteString("null")
			} else {
				b.WriteString(strconv.FormatFloat(v, 'g', -1, 64))
			}
		}
		b.WriteString("]}")
	}
	for i, s := range list {
		if i > 0 {
			b.WriteByte(',')
		}
		name, _ := json.Marshal(s.Name) // a string always encodes
		b.WriteString(`{"name":` + string(name) + ",")
		side("baseline", s.Baseline)
		b.WriteByte(',')
		side("canary", s.Canary)
		if len(s.BaselineExposure.Values) > 0 || len(s.CanaryExposure.Values) > 0 {
			b.WriteByte(',')
			side("baselineExposure", s.BaselineExposure)
			b.WriteByte(',')
			side("canaryExposure", s.CanaryExposure)
		}
		b.WriteByte('}')
	}
	b.WriteByte(']')
	return b.Bytes()
}

// DecodeSeries reads what EncodeSeries wrote; data it cannot read gives nil
// (a page then shows no plots rather than failing).
func DecodeSeries(data []byte) []analysis.SignalSeries {
	if len(data) == 0 {
		return nil
	}
	type side struct {
		Bounds []any      `json:"bounds"`
		Times  []int64    `json:"times"`
		Values []*float64 `json:"values"`
	}
	var raw []struct {
		Name             string `json:"name"`
		Baseline         side   `json:"baseline"`
		Canary           side   `json:"canary"`
		BaselineExposure side   `json:"baselineExposure"`
		CanaryExposure   side   `json:"canaryExposure"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil
	}
	conv := func(name string, s side) metrics.Series {
		out := metrics.Series{Signal: name, Values: make([]float64, len(s.Values))}
		for i, v := range s.Values {
			out.Values[i] = math.NaN()
			if v != nil {
				out.Values[i] = *v
			}
		}
		for _, b := range s.Bounds {
			switch v := b.(type) {
			case float64:
				out.Bounds = append(out.Bounds, v)
			case string:
				out.Bounds = append(out.Bounds, math.Inf(1))
			}
		}
		if len(s.Times) > 0 && len(s.Times) == out.Observations() {
			out.Times = make([]time.Time, len(s.Times))
			for i, t := range s.Times {
				out.Times[i] = time.UnixMilli(t).UTC()
			}
		}
		return out
	}
	out := make([]analysis.SignalSeries, len(raw))
	for i, r := range raw {
		out[i] = analysis.SignalSeries{Name: r.Name, Baseline: conv(r.Name, r.Baseline), Canary: conv(r.Name, r.Canary),
			BaselineExposure: conv(r.Name, r.BaselineExposure), CanaryExposure: conv(r.Name, r.CanaryExposure)}
	}
	return out
}
