package quality

import (
	"bytes"
	"embed"
	"encoding/csv"
	"fmt"
	"math/rand/v2"
	"strconv"
)

// nabFiles are the real series of the 10-signal family: stretches of normal
// operation of four NAB production series (nab/README.md says which, with
// NAB's attribution and licence; quality/internal/nabextract writes them).
//
//go:embed nab/*.csv
var nabFiles embed.FS

// RealSeries is a production series in stretches of regular 5-minute
// points.
type RealSeries struct {
	Name     string
	Segments [][]float64
}

// LoadRealSeries reads the real series of the given name (cpu, db_cpu,
// network_in, disk_write).
func LoadRealSeries(name string) (RealSeries, error) {
	data, err := nabFiles.ReadFile("nab/" + name + ".csv")
	if err != nil {
		return RealSeries{}, fmt.Errorf("real series %s: %w", name, err)
	}
	rows, err := csv.NewReader(bytes.NewReader(data)).ReadAll()
	if err != nil {
		return RealSeries{}, fmt.Errorf("real series %s: %w", name, err)
	}
	s := RealSeries{Name: name}
	for i, r := range rows[1:] {
		seg, err1 := strconv.Atoi(r[0])
		v, err2 := strconv.ParseFloat(r[1], 64)
		if err1 != nil || err2 != nil || seg < len(s.Segments)-1 || seg > len(s.Segments) {
			return RealSeries{}, fmt.Errorf("real series %s line %d: want segment,value in order, got %q", name, i+2, r)
		}
		if seg == len(s.Segments) {
			s.Segments = append(s.Segments, nil)
		}
		s.Segments[seg] = append(s.Segments[seg], v)
	}
	return s, nil
}

// Pair draws a baseline and a canary of n points each from 2n consecutive
// points of one stretch, chosen uniformly among all such windows: the
// even points go to one side and the odd ones to the other (which side is
// drawn too), so that both sides are the same process five minutes apart,
// as two deployments serving the same traffic are. It panics when no
// stretch holds 2n points (the series are extracted with n = 360 in mind).
func (s RealSeries) Pair(r *rand.Rand, n int) (baseline, canary []float64) {
	starts := 0
	for _, seg := range s.Segments {
		starts += max(0, len(seg)-2*n+1)
	}
	if starts == 0 {
		panic(fmt.Sprintf("real series %s: no stretch of %d points", s.Name, 2*n))
	}
	k := r.IntN(starts)
	var window []float64
	for _, seg := range s.Segments {
		m := max(0, len(seg)-2*n+1)
		if k < m {
			window = seg[k : k+2*n]
			break
		}
		k -= m
	}
	first := r.IntN(2)
	baseline, canary = make([]float64, n), make([]float64, n)
	for i := range n {
		baseline[i], canary[i] = window[2*i+first], window[2*i+1-first]
	}
	return baseline, canary
}
