package promtest

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// HugeMatrix answers every request with a successful range-query answer
// (resultType matrix, one series) of at least size bytes, generated as it
// is written, so that a test can send a client an answer far larger than
// the test could hold. Every chunk of about 64 KiB waits pace (zero: no
// wait), for answers that are slow as well as large. It stops when the
// client goes away.
func HugeMatrix(size int64, pace time.Duration) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		bw := bufio.NewWriterSize(w, 64<<10)
		written := int64(0)
		write := func(s string) bool {
			n, err := bw.WriteString(s)
			written += int64(n)
			return err == nil
		}
		if !write(`{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"__name__":"huge"},"values":[`) {
			return
		}
		point := make([]byte, 0, 64)
		for i := int64(0); written < size; i++ {
			if i > 0 && i%2048 == 0 {
				if err := bw.Flush(); err != nil {
					return
				}
				if pace > 0 {
					select {
					case <-time.After(pace):
					case <-r.Context().Done():
						return
					}
				}
			}
			point = point[:0]
			if i > 0 {
				point = append(point, ',')
			}
			point = append(point, '[')
			point = strconv.AppendInt(point, 1704067200+i, 10)
			point = append(point, `,"1"]`...)
			n, err := bw.Write(point)
			written += int64(n)
			if err != nil {
				return
			}
		}
		if write(`]}]}}`) {
			_ = bw.Flush()
		}
	})
}

// AcceptedConnections reads how many TCP connections the Prometheus at
// base has accepted on its HTTP listener since it started
// (net_conntrack_listener_conn_accepted_total{listener_name="http"}). The
// read itself opens one connection, counted by the next read.
func AcceptedConnections(ctx context.Context, base string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/metrics", nil)
	if err != nil {
		return 0, err
	}
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("GET %s/metrics: %w", base, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, fmt.Errorf("GET %s/metrics: %w", base, err)
	}
	const name = `net_conntrack_listener_conn_accepted_total{listener_name="http"} `
	for line := range strings.Lines(string(body)) {
		if v, ok := strings.CutPrefix(line, name); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil {
				return 0, fmt.Errorf("%s: %w", strings.TrimSpace(line), err)
			}
			return int(f), nil
		}
	}
	return 0, fmt.Errorf("%s/metrics has no %s", base, strings.TrimSpace(name))
}
