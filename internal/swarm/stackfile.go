package swarm

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// unsupportedMarker is what `docker stack deploy` prints to stderr when a
// compose file sets service options it silently drops. The deploy still
// goes ahead, without them.
const unsupportedMarker = "Ignoring unsupported options:"

// unsupportedKeys are the service keys `docker stack deploy` drops with that
// warning (the docker CLI's compose types.UnsupportedProperties; each one
// checked against docker CLI 28.2.2, which accepts cap_add, sysctls,
// ulimits, tmpfs, read_only, init and stop_signal).
// `docker stack config` loads them without a word, so berth looks itself.
var unsupportedKeys = []string{
	"build", "cgroup_parent", "cgroupns_mode", "devices", "domainname", "external_links",
	"ipc", "links", "mac_address", "network_mode", "pid", "privileged", "restart",
	"security_opt", "shm_size", "userns_mode",
}

// LoadStackFile loads a stack file with `docker stack config`, the docker
// CLI's own compose loader, without deploying anything, and returns the
// merged, interpolated file it would deploy. A file that does not load is
// an error, and so is one that sets options the stack deploy would ignore:
// a setting that silently never reaches the engine is worse than a refusal.
func LoadStackFile(ctx context.Context, file string) ([]byte, error) {
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "docker", "stack", "config", "-c", file)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			msg = err.Error()
		}
		return nil, fmt.Errorf("stack file %s does not load: %s", file, msg)
	}
	if err := unsupportedOptions(file, stderr.String()); err != nil {
		return nil, err
	}
	if err := ignoredKeys(file, stdout.Bytes()); err != nil {
		return nil, err
	}
	return stdout.Bytes(), nil
}

// ignoredKeys finds unsupportedKeys in the loaded file's services.
func ignoredKeys(file string, loaded []byte) error {
	var doc struct {
		Services map[string]map[string]yaml.Node `yaml:"services"`
	}
	if err := yaml.Unmarshal(loaded, &doc); err != nil {
		return fmt.Errorf("stack file %s: reading what docker loaded: %w", file, err)
	}
	var found []string
	for name, svc := range doc.Services {
		for key := range svc {
			if slices.Contains(unsupportedKeys, key) {
				found = append(found, fmt.Sprintf("services.%s.%s", name, key))
			}
		}
	}
	if len(found) == 0 {
		return nil
	}
	slices.Sort(found)
	return unsupportedOptions(file, unsupportedMarker+" "+strings.Join(found, ", "))
}

// unsupportedOptions turns the loader's "Ignoring unsupported options"
// warning into an error naming the file and the options.
func unsupportedOptions(file, stderr string) error {
	for _, line := range strings.Split(stderr, "\n") {
		if _, opts, ok := strings.Cut(line, unsupportedMarker); ok {
			return fmt.Errorf("stack file %s sets options docker stack deploy ignores: %s (docker stack deploy would drop them silently; remove them, or use the swarm forms: deploy.restart_policy for restart, an image built and tagged beforehand for build)",
				file, strings.TrimSpace(opts))
		}
	}
	return nil
}
