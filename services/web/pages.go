package main

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"html/template"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

//go:embed templates/*.html
var templateFS embed.FS

var (
	indexPage = parsePage("templates/index.html")
	errorPage = parsePage("templates/error.html")
)

func parsePage(name string) *template.Template {
	return template.Must(template.New("").Funcs(template.FuncMap{
		"when": func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 UTC") },
	}).ParseFS(templateFS, "templates/layout.html", name))
}

// pageLimit is how many orders the front page lists.
const pageLimit = 20

// maxForm caps the order form's body; it holds two short fields.
const maxForm = 64 << 10

type pageData struct {
	Title      string
	Error      string
	Orders     []order
	WebVersion string
	APIVersion string
}

// shop serves the HTML pages. It holds no state: every page reads the api.
type shop struct {
	api     *apiClient
	version string
	log     *slog.Logger
}

func (s *shop) register(mux *http.ServeMux) {
	mux.HandleFunc("GET /{$}", s.index)
	// The form posts from our own origin only; CrossOriginProtection
	// rejects cross-site form posts using the browser's Sec-Fetch-Site and
	// Origin headers, and lets non-browser clients through.
	mux.Handle("POST /orders", http.NewCrossOriginProtection().Handler(http.HandlerFunc(s.createOrder)))
}

func (s *shop) index(w http.ResponseWriter, r *http.Request) {
	var (
		wg         sync.WaitGroup
		list       []order
		listErr    error
		apiVersion string
	)
	wg.Go(func() { list, listErr = s.api.ListOrders(r.Context(), r.Header, pageLimit) })
	wg.Go(func() { apiVersion = s.apiVersion(r.Context(), r.Header) })
	wg.Wait()

	data := pageData{Orders: list, WebVersion: s.version, APIVersion: apiVersion}
	code := http.StatusOK
	if listErr != nil {
		s.log.Warn("list orders from api", "err", listErr)
		data.Error = "The order service is not answering right now; the list of orders could not be loaded."
		code = http.StatusBadGateway
	}
	s.render(w, code, indexPage, data)
}

// apiVersion is the footer's api version: which api replica answered is
// useful to see during a rolling update, and not worth failing a page for.
func (s *shop) apiVersion(ctx context.Context, from http.Header) string {
	v, err := s.api.Version(ctx, from)
	if err != nil {
		s.log.Debug("api version", "err", err)
		return "unknown"
	}
	return v
}

func (s *shop) createOrder(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	if err := r.ParseForm(); err != nil {
		s.fail(w, r, http.StatusBadRequest, "The order form could not be read.")
		return
	}
	item := strings.TrimSpace(r.PostFormValue("item"))
	quantity, err := strconv.Atoi(strings.TrimSpace(r.PostFormValue("quantity")))
	if err != nil {
		s.fail(w, r, http.StatusBadRequest, "Quantity must be a whole number.")
		return
	}
	_, err = s.api.CreateOrder(r.Context(), r.Header, item, quantity)
	var apiErr *apiError
	switch {
	case err == nil:
		// Post/Redirect/Get: reloading the page does not resubmit.
		http.Redirect(w, r, "/", http.StatusSeeOther)
	case errors.As(err, &apiErr) && apiErr.Status == http.StatusBadRequest:
		s.fail(w, r, http.StatusBadRequest, "The order was refused: "+apiErr.Message+".")
	default:
		s.log.Warn("create order via api", "err", err)
		s.fail(w, r, http.StatusBadGateway, "The order service could not take the order. Please try again.")
	}
}

// fail renders the error page. After a failed api call it does not ask the
// api for its version again: that would only add the same timeout twice.
func (s *shop) fail(w http.ResponseWriter, r *http.Request, code int, msg string) {
	apiVersion := "unknown"
	if code < 500 {
		apiVersion = s.apiVersion(r.Context(), r.Header)
	}
	s.render(w, code, errorPage, pageData{Title: "error", Error: msg, WebVersion: s.version, APIVersion: apiVersion})
}

// render executes the page into a buffer first, so that a template error
// becomes a clean 500 instead of half a page with a 200.
func (s *shop) render(w http.ResponseWriter, code int, page *template.Template, data pageData) {
	var buf bytes.Buffer
	if err := page.ExecuteTemplate(&buf, "page", data); err != nil {
		s.log.Error("render page", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_, _ = buf.WriteTo(w)
}
