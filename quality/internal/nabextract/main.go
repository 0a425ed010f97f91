// Command nabextract writes the real series of the quality harness's
// 10-signal family (quality/nab/) from the Numenta Anomaly Benchmark (NAB,
// MIT licence), found under <shared>/datasets/nab:
//
//	go run ./quality/internal/nabextract -shared ../shared -out quality/nab
//
// For each series it keeps NAB's "normal" operation: the points outside
// NAB's labelled anomaly windows with an hour's margin on each side (as the
// fixture generator does), cut into segments wherever the 5-minute step
// breaks (a missing period) or an anomaly window intervenes, and keeps the
// segments long enough to give a canary of 360 points a side (720 points).
// Each series is written as CSV (segment,value) with NAB's values as NAB
// wrote them, and README.md records where every segment comes from, with
// NAB's attribution and licence. The command is deterministic and is not
// run by tests; its output is committed.
package main

import (
	"encoding/csv"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/verdict-aca/verdict/internal/nab"
)

// MinSegment is the shortest segment kept: two sides of 360 points.
const MinSegment = 720

// series are the NAB files extracted, by the name the harness reads them under.
var series = []struct{ name, file, what string }{
	{"cpu", "realAWSCloudwatch/ec2_cpu_utilization_5f5533.csv", "CPUUtilization of an EC2 instance, percent, 5-minute averages (around 40-50%)"},
	{"db_cpu", "realAWSCloudwatch/rds_cpu_utilization_e47b3b.csv", "CPUUtilization of an RDS database instance, percent (two levels with slow switching)"},
	{"network_in", "realAWSCloudwatch/ec2_network_in_257a54.csv", "NetworkIn of an EC2 instance, bytes per 5 minutes (steady base, bursts, a heavy right tail)"},
	{"disk_write", "realAWSCloudwatch/ec2_disk_write_bytes_c0d644.csv", "DiskWriteBytes of an EC2 instance, bytes per 5 minutes (81% zeros, bursts)"},
}

const (
	nabCommit = "ea702d75cc2258d9d7dd35ca8e5e2539d71f3140"
	step      = 5 * time.Minute
	margin    = time.Hour
)

func main() {
	shared := flag.String("shared", "../shared", "the shared folder holding datasets/nab")
	out := flag.String("out", "quality/nab", "directory to write the series into")
	flag.Parse()
	if err := run(filepath.Join(*shared, "datasets", "nab"), *out); err != nil {
		fmt.Fprintln(os.Stderr, "nabextract:", err)
		os.Exit(1)
	}
}

func run(nabDir, out string) error {
	windows, err := nab.ReadLabels(filepath.Join(nabDir, nab.LabelsFile))
	if err != nil {
		return err
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", out, err)
	}
	var table strings.Builder
	table.WriteString("| file (name here) | what it measures | segment | from | to | points |\n|---|---|---:|---|---|---:|\n")
	for _, s := range series {
		points, err := nab.ReadSeries(filepath.Join(nabDir, s.file))
		if err != nil {
			return err
		}
		segments := normalSegments(points, windows[s.file])
		if len(segments) == 0 {
			return fmt.Errorf("%s: no segment of %d normal points", s.file, MinSegment)
		}
		path := filepath.Join(out, s.name+".csv")
		if err := writeSegments(path, segments); err != nil {
			return err
		}
		for i, seg := range segments {
			fmt.Fprintf(&table, "| `%s` (%s) | %s | %d | %s | %s | %d |\n", s.file, s.name, s.what, i,
				seg[0].Time.Format(nab.TimeLayout), seg[len(seg)-1].Time.Format(nab.TimeLayout), len(seg))
		}
		fmt.Printf("%-10s %d segments\n", s.name, len(segments))
	}
	readme := strings.Replace(readmeTemplate, "{{table}}", table.String(), 1)
	readme = strings.ReplaceAll(readme, "{{commit}}", nabCommit)
	if err := os.WriteFile(filepath.Join(out, "README.md"), []byte(readme), 0o644); err != nil {
		return fmt.Errorf("write README: %w", err)
	}
	return nil
}

// normalSegments cuts the points outside the anomaly windows (widened by
// margin) into runs of regular 5-minute steps and keeps those of at least
// MinSegment points.
func normalSegments(points []nab.Point, anomalies [][2]time.Time) [][]nab.Point {
	var out [][]nab.Point
	var cur []nab.Point
	flush := func() {
		if len(cur) >= MinSegment {
			out = append(out, cur)
		}
		cur = nil
	}
	for i, p := range points {
		inside := false
		for _, w := range anomalies {
			if !p.Time.Before(w[0].Add(-margin)) && !p.Time.After(w[1].Add(margin)) {
				inside = true
			}
		}
		if inside || i > 0 && p.Time.Sub(points[i-1].Time) != step {
			flush()
		}
		if !inside {
			cur = append(cur, p)
		}
	}
	flush()
	return out
}

func writeSegments(path string, segments [][]nab.Point) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	w := csv.NewWriter(f)
	_ = w.Write([]string{"segment", "value"})
	for i, seg := range segments {
		for _, p := range seg {
			_ = w.Write([]string{fmt.Sprint(i), p.Value})
		}
	}
	w.Flush()
	if err := errors.Join(w.Error(), f.Close()); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

const readmeTemplate = `# Real series of the 10-signal family

Four production series of the Numenta Anomaly Benchmark (NAB), read by the
quality harness's 10-signal family (package quality, docs/quality.md) as its
CPU, database CPU, network and disk signals. Regenerate with (from the
module root; the shared folder holds datasets/nab):

    go run ./quality/internal/nabextract -shared ../shared -out quality/nab

Each file holds NAB's values as NAB wrote them (CSV: segment,value), in
time order, for the stretches of normal operation: outside NAB's labelled
anomaly windows with an hour's margin on each side, cut where the 5-minute
step breaks, keeping stretches of at least 720 points. A canary of the
family takes 720 consecutive points of one stretch and gives the even ones
to one side and the odd ones to the other, so that both sides see the same
process, five minutes apart.

{{table}}
## Licence and attribution

The series are derived from data of the Numenta Anomaly Benchmark,
https://github.com/numenta/NAB (commit ` + "`{{commit}}`" + `, files under
data/), Copyright 2014-2024 Numenta Inc., used under the MIT licence:

` + "```" + `
Copyright 2014-2024 Numenta Inc.

Permission is hereby granted, free of charge, to any person obtaining a copy
of this software and associated documentation files (the "Software"), to deal
in the Software without restriction, including without limitation the rights
to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
SOFTWARE.
` + "```" + `

How to cite (NAB's README asks for this publication): Ahmad, S., Lavin, A.,
Purdy, S., & Agha, Z. (2017). Unsupervised real-time anomaly detection for
streaming data. Neurocomputing, https://doi.org/10.1016/j.neucom.2017.04.070
`
