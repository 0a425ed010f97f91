// Package nab reads the files of the Numenta Anomaly Benchmark (NAB; MIT
// licence, in the shared datasets): its series (CSV of timestamp,value)
// and its labelled anomaly windows. The fixture generator and the quality
// harness's extractor both read them.
package nab

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"
)

// LabelsFile is the anomaly windows' file, relative to NAB's root.
const LabelsFile = "labels/combined_windows.json"

// TimeLayout is how NAB writes a series' timestamps.
const TimeLayout = "2006-01-02 15:04:05"

// labelTimeLayout is how NAB writes a window's ends.
const labelTimeLayout = "2006-01-02 15:04:05.000000"

// Point is one row of a series, its value as NAB wrote it.
type Point struct {
	Time  time.Time
	Value string
}

// ReadSeries reads a series file: a header, then timestamp,value rows.
// Errors name the file and line.
func ReadSeries(path string) ([]Point, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read NAB series: %w", err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		return nil, fmt.Errorf("read NAB series %s: %w", path, err)
	}
	if len(rows) < 2 {
		return nil, fmt.Errorf("%s: no points", path)
	}
	out := make([]Point, 0, len(rows)-1)
	for i, r := range rows[1:] {
		if len(r) != 2 {
			return nil, fmt.Errorf("%s line %d: want timestamp,value", path, i+2)
		}
		t, err := time.Parse(TimeLayout, r[0])
		if err != nil {
			return nil, fmt.Errorf("%s line %d: %w", path, i+2, err)
		}
		out = append(out, Point{t, r[1]})
	}
	return out, nil
}

// ReadLabels reads the anomaly windows, by series file (relative to
// NAB's data directory), each window's start and end.
func ReadLabels(path string) (map[string][][2]time.Time, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read NAB labels: %w", err)
	}
	var raw map[string][][2]string
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("read NAB labels %s: %w", path, err)
	}
	out := map[string][][2]time.Time{}
	for file, ws := range raw {
		for _, w := range ws {
			a, err1 := time.Parse(labelTimeLayout, w[0])
			b, err2 := time.Parse(labelTimeLayout, w[1])
			if err := errors.Join(err1, err2); err != nil {
				return nil, fmt.Errorf("NAB labels %s: %w", file, err)
			}
			out[file] = append(out[file], [2]time.Time{a, b})
		}
	}
	return out, nil
}
