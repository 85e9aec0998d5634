package platform

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestMergeDaemonConfig(t *testing.T) {
	tests := []struct {
		name        string
		in          string
		wantChanges int
		check       func(t *testing.T, cfg map[string]any)
		wantErr     string
	}{
		{"empty", "", 4, func(t *testing.T, cfg map[string]any) {
			if cfg["no-new-privileges"] != true || cfg["icc"] != false || cfg["log-driver"] != "json-file" {
				t.Errorf("cfg %v", cfg)
			}
		}, ""},
		{"already hardened", `{"log-driver":"json-file","log-opts":{"max-size":"10m","max-file":"3"},"no-new-privileges":true,"icc":false}`, 0, nil, ""},
		{"keeps user settings", `{"storage-driver":"overlay2","log-driver":"journald","log-opts":{"max-size":"50m"}}`, 3, func(t *testing.T, cfg map[string]any) {
			opts := cfg["log-opts"].(map[string]any)
			if cfg["storage-driver"] != "overlay2" || cfg["log-driver"] != "journald" || opts["max-size"] != "50m" || opts["max-file"] != "3" {
				t.Errorf("user settings lost: %v", cfg)
			}
		}, ""},
		{"drops live-restore", `{"live-restore":true}`, 5, func(t *testing.T, cfg map[string]any) {
			if _, ok := cfg["live-restore"]; ok {
				t.Error("live-restore kept")
			}
		}, ""},
		{"invalid json", `{"icc":`, 0, nil, "daemon.json"},
		{"bad log-opts", `{"log-opts":"x"}`, 0, nil, "log-opts is not an object"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, changes, err := MergeDaemonConfig([]byte(tc.in))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(changes) != tc.wantChanges {
				t.Errorf("changes %q, want %d", changes, tc.wantChanges)
			}
			cfg := map[string]any{}
			if err := json.Unmarshal(out, &cfg); err != nil {
				t.Fatal(err)
			}
			if tc.check != nil {
				tc.check(t, cfg)
			}
			again, changes2, _ := MergeDaemonConfig(out)
			if string(again) != string(out) || len(changes2) != 0 {
				t.Errorf("merge is not idempotent: %q", changes2)
			}
		})
	}
}
