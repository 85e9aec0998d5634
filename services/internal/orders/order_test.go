package orders

import (
	"errors"
	"strings"
	"testing"
)

func TestValidate(t *testing.T) {
	tests := []struct {
		name     string
		item     string
		quantity int
		wantErr  string
	}{
		{name: "ok", item: "coffee", quantity: 2},
		{name: "limits ok", item: strings.Repeat("é", MaxItemLen), quantity: MaxQuantity},
		{name: "empty item", item: "", quantity: 1, wantErr: "item is required"},
		{name: "item too long", item: strings.Repeat("x", MaxItemLen+1), quantity: 1, wantErr: "at most 200 characters"},
		{name: "invalid utf-8", item: "caf\xe9", quantity: 1, wantErr: "valid UTF-8"},
		{name: "NUL byte", item: "a\x00b", quantity: 1, wantErr: "control characters"},
		{name: "zero quantity", item: "tea", quantity: 0, wantErr: "at least 1"},
		{name: "negative quantity", item: "tea", quantity: -3, wantErr: "at least 1"},
		{name: "huge quantity", item: "tea", quantity: MaxQuantity + 1, wantErr: "at most 10000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Validate(tt.item, tt.quantity)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Validate = %v, want nil", err)
				}
				return
			}
			var verr *ValidationError
			if !errors.As(err, &verr) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Validate = %v, want a ValidationError containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestNormalizeItem(t *testing.T) {
	if got := NormalizeItem("  latte \n"); got != "latte" {
		t.Fatalf("NormalizeItem = %q", got)
	}
	if err := Validate(NormalizeItem(" \t "), 1); err == nil {
		t.Fatal("blank item accepted")
	}
}
