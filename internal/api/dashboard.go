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
	mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(filesOnly{files})))
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-cache")
		_, _ = w.Write(index)
	})
}

// filesOnly serves the files of an fs.FS and hides its directories, so the
// file server answers 404 instead of listing them.
type filesOnly struct{ fsys fs.FS }

func (f filesOnly) Open(name string) (fs.File, error) {
	file, err := f.fsys.Open(name)
	if err != nil {
		return nil, err
	}
	if st, err := file.Stat(); err != nil || st.IsDir() {
		_ = file.Close()
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	return file, nil
}
