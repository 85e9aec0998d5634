package orders

import (
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Order statuses. An order is created queued; a worker marks it processed.
const (
	StatusQueued    = "queued"
	StatusProcessed = "processed"
)

// Input limits. They keep a single request from storing megabytes and keep
// quantities far from the int4 column's range.
const (
	MaxItemLen  = 200 // characters
	MaxQuantity = 10000
)

// Order is one order as stored and as served by the api.
type Order struct {
	ID          int64      `json:"id"`
	Item        string     `json:"item"`
	Quantity    int        `json:"quantity"`
	Status      string     `json:"status"`
	CreatedAt   time.Time  `json:"created_at"`
	ProcessedAt *time.Time `json:"processed_at,omitempty"`
	ProcessedBy string     `json:"processed_by,omitempty"`
}

// ErrNotFound is returned by Get for an ID that does not exist.
var ErrNotFound = errors.New("order not found")

// ValidationError is a problem with a client's input; the api answers 400
// with its text.
type ValidationError struct{ msg string }

func (e *ValidationError) Error() string { return e.msg }

func invalid(format string, args ...any) error {
	return &ValidationError{msg: fmt.Sprintf(format, args...)}
}

// NormalizeItem trims the surrounding white space that forms and hand-typed
// JSON tend to carry.
func NormalizeItem(item string) string { return strings.TrimSpace(item) }

// Validate checks a new order's fields, item already normalized. It rejects
// what Postgres would reject with a less helpful error (invalid UTF-8, NUL
// bytes) as well as the business rules.
func Validate(item string, quantity int) error {
	switch {
	case item == "":
		return invalid("item is required")
	case !utf8.ValidString(item):
		return invalid("item must be valid UTF-8")
	case utf8.RuneCountInString(item) > MaxItemLen:
		return invalid("item must be at most %d characters", MaxItemLen)
	case strings.IndexFunc(item, unicode.IsControl) >= 0:
		return invalid("item must not contain control characters")
	case quantity < 1:
		return invalid("quantity must be at least 1")
	case quantity > MaxQuantity:
		return invalid("quantity must be at most %d", MaxQuantity)
	}
	return nil
}
