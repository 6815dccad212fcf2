package api

import (
	"embed"
	"io/fs"
	"net/http"
)

// ChartJSVersion is the Chart.js build embedded in static/vendor.
const ChartJSVersion = "4.6.1"

// static holds the dashboard: index.html, the JavaScript modules, the
// stylesheet and the vendored Chart.js (see static/vendor/README.md).
//
//go:embed static
var static embed.FS

func (a *API) dashboardRoutes(mux *http.ServeMux) {
	files, _ := fs.Sub(static, "static")
	index, _ := fs.ReadFile(files, "index.html")
	mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(files)))
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-cache")
		w.Write(index)
	})
}
