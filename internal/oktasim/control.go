package oktasim

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

// The control API (/_sim/...): see the package documentation.

func (s *Server) control(h func(*Org, http.ResponseWriter, *http.Request)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		o := s.orgs[r.PathValue("org")]
		if o == nil {
			http.Error(w, fmt.Sprintf("no org %q", r.PathValue("org")), http.StatusNotFound)
			return
		}
		h(o, w, r)
	}
}

func (s *Server) controlListOrgs(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, s.Orgs())
}

func controlStats(o *Org, w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, o.Stats())
}

// decodeBody decodes a small JSON request body strictly.
func decodeBody(w http.ResponseWriter, r *http.Request, v any, limit int64) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, limit))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		http.Error(w, "bad body: "+err.Error(), http.StatusBadRequest)
		return false
	}
	return true
}

func controlAddFault(o *Org, w http.ResponseWriter, r *http.Request) {
	var f Fault
	if !decodeBody(w, r, &f, 1<<16) {
		return
	}
	if err := o.SetFault(f); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func controlClearFaults(o *Org, w http.ResponseWriter, _ *http.Request) {
	o.ClearFaults()
	w.WriteHeader(http.StatusNoContent)
}

func controlBacklog(o *Org, w http.ResponseWriter, r *http.Request) {
	var body struct {
		Count int64 `json:"count"`
	}
	if !decodeBody(w, r, &body, 1<<10) {
		return
	}
	if o.log.src == nil || body.Count < 0 {
		http.Error(w, "backlog needs a non-negative count and an org with a source", http.StatusBadRequest)
		return
	}
	o.AddBacklog(body.Count)
	w.WriteHeader(http.StatusNoContent)
}

func controlRate(o *Org, w http.ResponseWriter, r *http.Request) {
	var body struct {
		EventsPerSecond float64 `json:"events_per_second"`
	}
	if !decodeBody(w, r, &body, 1<<10) {
		return
	}
	if o.log.src == nil || body.EventsPerSecond < 0 {
		http.Error(w, "rate needs a non-negative events_per_second and an org with a source", http.StatusBadRequest)
		return
	}
	o.SetRate(body.EventsPerSecond)
	w.WriteHeader(http.StatusNoContent)
}

func controlInject(o *Org, w http.ResponseWriter, r *http.Request) {
	var events []json.RawMessage
	if !decodeBody(w, r, &events, 64<<20) {
		return
	}
	raws := make([][]byte, len(events))
	for i, e := range events {
		raws[i] = e
	}
	o.Inject(raws...)
	w.WriteHeader(http.StatusNoContent)
}

func controlExpireTokens(o *Org, w http.ResponseWriter, _ *http.Request) {
	o.ExpireTokens()
	w.WriteHeader(http.StatusNoContent)
}

// controlTruth streams the ground truth since ?since= (RFC 3339; default:
// everything retained) as a JSON array of {"id","published","persisted"}.
func controlTruth(o *Org, w http.ResponseWriter, r *http.Request) {
	var since time.Time
	if s := r.URL.Query().Get("since"); s != "" {
		t, ok := parseTimestamp(s)
		if !ok {
			http.Error(w, "since: want an ISO 8601 timestamp", http.StatusBadRequest)
			return
		}
		since = t
	}
	from, to := o.TruthRange(since)
	v := o.log.view()
	w.Header().Set("Content-Type", "application/json")
	bw := bufio.NewWriterSize(w, 64<<10)
	_ = bw.WriteByte('[')
	for i := from; i < to; i++ {
		ev, persisted := v.event(i)
		if i > from {
			_ = bw.WriteByte(',')
		}
		b, _ := json.Marshal(struct {
			ID        string    `json:"id"`
			Published time.Time `json:"published"`
			Persisted time.Time `json:"persisted"`
		}{ev.ID, ev.Published.UTC(), persisted.UTC()})
		if _, err := bw.Write(b); err != nil {
			return // client gone
		}
	}
	_ = bw.WriteByte(']')
	_ = bw.Flush()
}

func controlAddHold(o *Org, w http.ResponseWriter, r *http.Request) {
	var h Hold
	if !decodeBody(w, r, &h, 1<<10) {
		return
	}
	if err := o.SetHold(h); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func controlHolds(o *Org, w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, o.Holds())
}

func controlReleaseHolds(o *Org, w http.ResponseWriter, _ *http.Request) {
	o.ReleaseHolds()
	w.WriteHeader(http.StatusNoContent)
}
