package audit

// Rules is every readiness rule berth knows, in documentation order. Each
// theme's rules live in rules_<theme>.go; this list is the one place that
// says which exist.
var Rules = concat(
	healthRules,
	resourceRules,
	updateRules,
	spreadRules,
	secretRules,
	runtimeRules,
	imageRules,
	mountRules,
	networkRules,
	loggingRules,
	portRules,
	traefikRules,
	daemonRules,
	observabilityRules,
	composeRules,
)

func concat(lists ...[]Rule) []Rule {
	var out []Rule
	for _, l := range lists {
		out = append(out, l...)
	}
	return out
}
