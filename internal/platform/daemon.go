package platform

import (
	"encoding/json"
	"fmt"
)

// DaemonDefaults are the daemon.json settings berth recommends for a swarm
// node, with the reason for each. live-restore is deliberately absent:
// dockerd refuses to start with it in swarm mode.
var DaemonDefaults = []struct {
	Key    string
	Value  any
	Reason string
}{
	{"log-driver", "json-file", "local JSON logs that `docker logs` and log shippers read"},
	{"log-opts", map[string]any{"max-size": "10m", "max-file": "3"}, "rotation on every container, also ones started by hand"},
	{"no-new-privileges", true, "Swarm services cannot set no-new-privileges before API 1.46; the daemon default covers them"},
	{"icc", false, "no traffic between containers on the default bridge; services talk over their overlays"},
}

// MergeDaemonConfig returns existing with berth's defaults added. It never
// removes a user's setting except live-restore, which cannot be combined
// with swarm mode (reported in changes). It reports what it changed.
func MergeDaemonConfig(existing []byte) ([]byte, []string, error) {
	cfg := map[string]any{}
	if len(existing) > 0 {
		if err := json.Unmarshal(existing, &cfg); err != nil {
			return nil, nil, fmt.Errorf("daemon.json: %w", err)
		}
	}
	var changes []string
	for _, d := range DaemonDefaults {
		cur, ok := cfg[d.Key]
		if d.Key == "log-opts" && ok {
			opts, isMap := cur.(map[string]any)
			if !isMap {
				return nil, nil, fmt.Errorf("daemon.json: log-opts is not an object")
			}
			for k, v := range d.Value.(map[string]any) {
				if _, has := opts[k]; !has {
					opts[k] = v
					changes = append(changes, fmt.Sprintf("log-opts.%s=%v (%s)", k, v, d.Reason))
				}
			}
			continue
		}
		if d.Key == "log-driver" && ok {
			continue // a user's log driver choice stands
		}
		if !ok || fmt.Sprint(cur) != fmt.Sprint(d.Value) {
			cfg[d.Key] = d.Value
			changes = append(changes, fmt.Sprintf("%s=%v (%s)", d.Key, d.Value, d.Reason))
		}
	}
	if lr, ok := cfg["live-restore"].(bool); ok && lr {
		delete(cfg, "live-restore")
		changes = append(changes, "removed live-restore (dockerd refuses it in swarm mode)")
	}
	out, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return nil, nil, err
	}
	return append(out, '\n'), changes, nil
}
