package privacy

import (
	"context"
)

// job is a deletion submitted to Run.
type job struct {
	id, email, by string
	done          chan Outcome
}

// Outcome is how a submitted deletion ended.
type Outcome struct {
	Result *DeletionResult
	Err    error
}

// Run executes submitted deletions one after another until ctx ends; a
// deletion running when ctx ends stops (failed; running it again finishes
// it).
func (s *Service) Run(ctx context.Context) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case j := <-s.jobs:
			res, err := s.deleteID(ctx, j.id, j.email, j.by)
			j.done <- Outcome{Result: res, Err: err}
		}
	}
}

// Submit hands a deletion to Run and returns its request id at once; the
// channel delivers its outcome. It fails with ErrInvalidEmail, or when ctx
// ends before Run takes the job.
func (s *Service) Submit(ctx context.Context, email, requestedBy string) (string, <-chan Outcome, error) {
	email, err := NormalizeEmail(email)
	if err != nil {
		return "", nil, err
	}
	j := &job{id: newRequestID(), email: email, by: requestedBy, done: make(chan Outcome, 1)}
	// Recorded before it is queued, so its id answers at once.
	a := audit{RequestID: j.id, Kind: KindDeletion, EmailHash: s.h.Email(email), RequestedBy: requestedBy, StartedAt: s.o.Now()}
	if err := s.writeAudit(ctx, a, StatusRunning, "queued"); err != nil {
		return "", nil, err
	}
	select {
	case s.jobs <- j:
		return j.id, j.done, nil
	case <-ctx.Done():
		return "", nil, ctx.Err()
	}
}
