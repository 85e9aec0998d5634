package audit

import (
	"encoding/json"
	"io"
	"path/filepath"
	"strings"
)

// SARIF 2.1.0, the subset GitHub code scanning reads.
type sarifLog struct {
	Schema  string     `json:"$schema"`
	Version string     `json:"version"`
	Runs    []sarifRun `json:"runs"`
}

type sarifRun struct {
	Tool    sarifTool     `json:"tool"`
	Results []sarifResult `json:"results"`
}

type sarifTool struct {
	Driver sarifDriver `json:"driver"`
}

type sarifDriver struct {
	Name           string      `json:"name"`
	InformationURI string      `json:"informationUri"`
	Version        string      `json:"version,omitempty"`
	Rules          []sarifRule `json:"rules"`
}

type sarifText struct {
	Text string `json:"text"`
}

type sarifRule struct {
	ID                   string         `json:"id"`
	Name                 string         `json:"name"`
	ShortDescription     sarifText      `json:"shortDescription"`
	FullDescription      sarifText      `json:"fullDescription"`
	Help                 sarifHelp      `json:"help"`
	HelpURI              string         `json:"helpUri"`
	DefaultConfiguration sarifConfig    `json:"defaultConfiguration"`
	Properties           map[string]any `json:"properties"`
}

type sarifHelp struct {
	Text     string `json:"text"`
	Markdown string `json:"markdown"`
}

type sarifConfig struct {
	Level string `json:"level"`
}

type sarifResult struct {
	RuleID       string            `json:"ruleId"`
	RuleIndex    int               `json:"ruleIndex"`
	Level        string            `json:"level"`
	Message      sarifText         `json:"message"`
	Locations    []sarifLocation   `json:"locations"`
	Fingerprints map[string]string `json:"partialFingerprints,omitempty"`
	Suppressions []sarifSuppress   `json:"suppressions,omitempty"`
}

type sarifSuppress struct {
	Kind          string `json:"kind"`
	Justification string `json:"justification"`
}

type sarifLocation struct {
	PhysicalLocation sarifPhysical  `json:"physicalLocation"`
	LogicalLocations []sarifLogical `json:"logicalLocations,omitempty"`
}

type sarifPhysical struct {
	ArtifactLocation sarifArtifact `json:"artifactLocation"`
	Region           sarifRegion   `json:"region"`
}

type sarifArtifact struct {
	URI string `json:"uri"`
}

type sarifRegion struct {
	StartLine   int `json:"startLine"`
	StartColumn int `json:"startColumn,omitempty"`
}

type sarifLogical struct {
	FullyQualifiedName string `json:"fullyQualifiedName"`
	Kind               string `json:"kind"`
}

func sarifLevel(s Severity) string {
	switch s {
	case Error:
		return "error"
	case Warning:
		return "warning"
	}
	return "note"
}

// WriteSARIF writes the report as SARIF 2.1.0 for GitHub code scanning.
func WriteSARIF(w io.Writer, r *Report, version string) error {
	driver := sarifDriver{Name: "berth audit", InformationURI: "https://github.com/berth-platform/berth", Version: version}
	index := map[string]int{}
	addRule := func(f Finding) int {
		if i, ok := index[f.Rule]; ok {
			return i
		}
		sr := sarifRule{ID: f.Rule, Name: ruleName(f.Rule), ShortDescription: sarifText{f.Title},
			FullDescription: sarifText{f.Title}, HelpURI: "https://github.com/berth-platform/berth/blob/main/" + f.Docs,
			DefaultConfiguration: sarifConfig{sarifLevel(f.Severity)},
			Properties:           map[string]any{"tags": []string{"berth", string(f.Area)}}}
		if rule := RuleByID(f.Rule); rule != nil {
			sr.FullDescription = sarifText{rule.Why}
			sr.Help = sarifHelp{Text: rule.Why + "\n\nFix: " + rule.Fix, Markdown: "**Why:** " + rule.Why + "\n\n**Fix:** " + rule.Fix}
			sr.Properties["security-severity"] = map[Severity]string{Error: "8.0", Warning: "5.0", Info: "2.0"}[f.Severity]
		} else {
			sr.Help = sarifHelp{Text: f.Fix, Markdown: f.Fix}
		}
		index[f.Rule] = len(driver.Rules)
		driver.Rules = append(driver.Rules, sr)
		return index[f.Rule]
	}
	results := []sarifResult{}
	mk := func(f Finding) sarifResult {
		line := f.Line
		if line < 1 {
			line = 1
		}
		res := sarifResult{RuleID: f.Rule, RuleIndex: addRule(f), Level: sarifLevel(f.Severity), Message: sarifText{f.Message},
			Locations: []sarifLocation{{PhysicalLocation: sarifPhysical{
				ArtifactLocation: sarifArtifact{URI: filepath.ToSlash(f.File)},
				Region:           sarifRegion{StartLine: line, StartColumn: f.Column},
			}}},
			Fingerprints: map[string]string{"berthPath/v1": f.Rule + ":" + f.Path + ":" + f.Service},
		}
		if f.Path != "" {
			res.Locations[0].LogicalLocations = []sarifLogical{{FullyQualifiedName: f.Path, Kind: "member"}}
		}
		return res
	}
	for _, f := range r.Findings {
		results = append(results, mk(f))
	}
	for _, s := range r.Suppressed {
		res := mk(s.Finding)
		res.Suppressions = []sarifSuppress{{Kind: "inSource", Justification: s.Reason}}
		if !strings.Contains(s.By, ":") {
			res.Suppressions[0].Kind = "external"
		}
		results = append(results, res)
	}
	if driver.Rules == nil {
		driver.Rules = []sarifRule{}
	}
	log := sarifLog{
		Schema:  "https://json.schemastore.org/sarif-2.1.0.json",
		Version: "2.1.0",
		Runs:    []sarifRun{{Tool: sarifTool{Driver: driver}, Results: results}},
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(log)
}

func ruleName(id string) string {
	var b strings.Builder
	for _, part := range strings.FieldsFunc(id, func(r rune) bool { return r == '.' || r == '-' }) {
		b.WriteString(strings.ToUpper(part[:1]) + part[1:])
	}
	return b.String()
}
