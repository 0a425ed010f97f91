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
// the test could hold. Every 2,048 points (about 40 KiB) it flushes and
// waits pace (zero: no wait), for answers that are slow as well as large.
// It stops when the client goes away.
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

// Connections is what the Prometheus at base counts of the TCP
// connections to its HTTP listener since it started: Accepted
// (net_conntrack_listener_conn_accepted_total{listener_name="http"}) and
// Closed (..._closed_total). A read opens one connection of its own,
// accepted and still open while the counts are read.
type Connections struct {
	Accepted, Closed int
}

// Open is the number of connections open, the read's own left out.
func (c Connections) Open() int { return c.Accepted - c.Closed - 1 }

// ReadConnections reads the connection counts of the Prometheus at base.
func ReadConnections(ctx context.Context, base string) (Connections, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/metrics", nil)
	if err != nil {
		return Connections{}, err
	}
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Do(req)
	if err != nil {
		return Connections{}, fmt.Errorf("GET %s/metrics: %w", base, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return Connections{}, fmt.Errorf("GET %s/metrics: %w", base, err)
	}
	var c Connections
	for _, m := range []struct {
		name string
		into *int
	}{
		{`net_conntrack_listener_conn_accepted_total{listener_name="http"} `, &c.Accepted},
		{`net_conntrack_listener_conn_closed_total{listener_name="http"} `, &c.Closed},
	} {
		found := false
		for line := range strings.Lines(string(body)) {
			if v, ok := strings.CutPrefix(line, m.name); ok {
				f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
				if err != nil {
					return Connections{}, fmt.Errorf("%s: %w", strings.TrimSpace(line), err)
				}
				*m.into, found = int(f), true
				break
			}
		}
		if !found {
			return Connections{}, fmt.Errorf("%s/metrics has no %s", base, strings.TrimSpace(m.name))
		}
	}
	return c, nil
}
