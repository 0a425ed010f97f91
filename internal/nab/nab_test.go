package nab

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestReadSeries(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name, text string
		want       []Point
		wantErr    string
	}{
		{name: "rows", text: "timestamp,value\n2014-02-14 14:30:00,0.132\n2014-02-14 14:35:00,7\n",
			want: []Point{{time.Date(2014, 2, 14, 14, 30, 0, 0, time.UTC), "0.132"}, {time.Date(2014, 2, 14, 14, 35, 0, 0, time.UTC), "7"}}},
		{name: "header only", text: "timestamp,value\n", wantErr: "no points"},
		{name: "bad time", text: "timestamp,value\n2014-02-14,1\n", wantErr: "line 2"},
		{name: "three fields", text: "timestamp,value,x\n2014-02-14 14:30:00,1,2\n", wantErr: "line 2: want timestamp,value"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "_")+".csv")
			if err := os.WriteFile(path, []byte(tc.text), 0o600); err != nil {
				t.Fatal(err)
			}
			got, err := ReadSeries(path)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), path) {
					t.Fatalf("error %v, want one naming %s and %q", err, path, tc.wantErr)
				}
				return
			}
			if err != nil || len(got) != len(tc.want) {
				t.Fatalf("%v, %v; want %v", got, err, tc.want)
			}
			for i := range got {
				if !got[i].Time.Equal(tc.want[i].Time) || got[i].Value != tc.want[i].Value {
					t.Errorf("row %d: %v, want %v", i, got[i], tc.want[i])
				}
			}
		})
	}
}

func TestReadLabels(t *testing.T) {
	path := filepath.Join(t.TempDir(), "windows.json")
	text := `{"realKnownCause/a.csv": [["2014-02-19 10:50:00.000000", "2014-02-20 03:30:00.000000"]], "b.csv": []}`
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := ReadLabels(path)
	if err != nil {
		t.Fatal(err)
	}
	w := got["realKnownCause/a.csv"]
	if len(w) != 1 || !w[0][0].Equal(time.Date(2014, 2, 19, 10, 50, 0, 0, time.UTC)) || !w[0][1].Equal(time.Date(2014, 2, 20, 3, 30, 0, 0, time.UTC)) {
		t.Errorf("windows %v", w)
	}
	if err := os.WriteFile(path, []byte(`{"a.csv": [["yesterday", "today"]]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadLabels(path); err == nil || !strings.Contains(err.Error(), "a.csv") {
		t.Errorf("bad window: error %v, want one naming a.csv", err)
	}
}
