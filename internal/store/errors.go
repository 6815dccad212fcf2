package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"

	"github.com/ClickHouse/clickhouse-go/v2"
)

// ErrClosed is returned by a closed Store, and by Write once the Writer's
// Run has returned.
var ErrClosed = errors.New("store: closed")

// RetryableError is a failure that may go away by itself: ClickHouse down
// or unreachable, a timeout, a server overloaded. The caller retries later
// (a poller keeps its cursor and writes the page again).
type RetryableError struct{ Err error }

func (e *RetryableError) Error() string { return e.Err.Error() }
func (e *RetryableError) Unwrap() error { return e.Err }

// PermanentError is a failure that repeats for the same input: the schema
// does not match (unknown table or column, type mismatch), a syntax error,
// rejected credentials, a value the driver cannot convert.
type PermanentError struct {
	Err error
	// Rows: the failure is about the values of some rows (a value the
	// driver cannot convert or ClickHouse cannot parse, a violated
	// constraint), not about the schema, the query or access. Writing the
	// rows apart isolates the offending ones (IsRowError).
	Rows bool
}

func (e *PermanentError) Error() string { return e.Err.Error() }
func (e *PermanentError) Unwrap() error { return e.Err }

// SchemaTooNewError: the database was migrated by a newer riskpipe.
type SchemaTooNewError struct {
	Database       string
	Current, Known int
}

func (e *SchemaTooNewError) Error() string {
	return fmt.Sprintf("database %s has schema version %d, newer than the %d this riskpipe knows: upgrade riskpipe",
		e.Database, e.Current, e.Known)
}

// IsRetryable reports whether err is worth retrying: a *RetryableError, or
// an unwrapped error that classifies as one (network errors, timeouts,
// ClickHouse exceptions other than schema, type, syntax and access ones).
// ErrClosed, context.Canceled and *SchemaTooNewError are not retryable.
func IsRetryable(err error) bool {
	if err == nil {
		return false
	}
	var re *RetryableError
	var pe *PermanentError
	switch {
	case errors.As(err, &re):
		return true
	case errors.As(err, &pe):
		return false
	}
	return retryable(err)
}

// IsRowError reports whether err is a *PermanentError caused by the values
// of some rows: the rest of the batch can be written without them.
func IsRowError(err error) bool {
	var pe *PermanentError
	return errors.As(err, &pe) && pe.Rows
}

// classify wraps err in *RetryableError or *PermanentError (once).
func classify(err error) error {
	if err == nil {
		return nil
	}
	var re *RetryableError
	var pe *PermanentError
	if errors.As(err, &re) || errors.As(err, &pe) {
		return err
	}
	if retryable(err) {
		return &RetryableError{Err: err}
	}
	var ex *clickhouse.Exception
	return &PermanentError{Err: err, Rows: errors.As(err, &ex) && rowCodes[ex.Code]}
}

func retryable(err error) bool {
	var tooNew *SchemaTooNewError
	if errors.Is(err, ErrClosed) || errors.Is(err, clickhouse.ErrConnectionClosed) ||
		errors.Is(err, context.Canceled) || errors.As(err, &tooNew) {
		return false
	}
	var ex *clickhouse.Exception
	if errors.As(err, &ex) {
		return !permanentCodes[ex.Code]
	}
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) ||
		errors.Is(err, clickhouse.ErrAcquireConnTimeout) ||
		errors.As(err, &ne) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.ECONNABORTED) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, syscall.ETIMEDOUT) || errors.Is(err, syscall.EHOSTUNREACH) ||
		errors.Is(err, syscall.ENETUNREACH)
}

// permanentCodes are the ClickHouse exception codes that repeat for the
// same statement and data: the schema or the query is wrong, or the user
// may not do it. Any other server exception (timeouts, memory or part
// limits, too many queries, network errors between servers) is retryable.
var permanentCodes = map[int32]bool{
	1:   true, // UNSUPPORTED_METHOD
	2:   true, // UNSUPPORTED_PARAMETER
	6:   true, // CANNOT_PARSE_TEXT
	8:   true, // THERE_IS_NO_COLUMN
	10:  true, // NOT_FOUND_COLUMN_IN_BLOCK
	16:  true, // NO_SUCH_COLUMN_IN_TABLE
	20:  true, // NUMBER_OF_COLUMNS_DOESNT_MATCH
	26:  true, // CANNOT_PARSE_QUOTED_STRING
	27:  true, // CANNOT_PARSE_INPUT_ASSERTION_FAILED
	36:  true, // BAD_ARGUMENTS
	38:  true, // CANNOT_PARSE_DATE
	41:  true, // CANNOT_PARSE_DATETIME
	43:  true, // ILLEGAL_TYPE_OF_ARGUMENT
	44:  true, // ILLEGAL_COLUMN
	46:  true, // UNKNOWN_FUNCTION
	47:  true, // UNKNOWN_IDENTIFIER
	48:  true, // NOT_IMPLEMENTED
	50:  true, // UNKNOWN_TYPE
	53:  true, // TYPE_MISMATCH
	57:  true, // TABLE_ALREADY_EXISTS
	60:  true, // UNKNOWN_TABLE
	62:  true, // SYNTAX_ERROR
	69:  true, // ARGUMENT_OUT_OF_BOUND
	70:  true, // CANNOT_CONVERT_TYPE
	73:  true, // UNKNOWN_FORMAT
	81:  true, // UNKNOWN_DATABASE
	115: true, // UNKNOWN_SETTING
	117: true, // INCORRECT_DATA
	164: true, // READONLY
	181: true, // ILLEGAL_FINAL
	184: true, // ILLEGAL_AGGREGATION
	192: true, // UNKNOWN_USER
	193: true, // WRONG_PASSWORD
	194: true, // REQUIRED_PASSWORD
	195: true, // IP_ADDRESS_NOT_ALLOWED
	215: true, // NOT_AN_AGGREGATE
	386: true, // NO_COMMON_TYPE
	395: true, // FUNCTION_THROW_IF_VALUE_IS_NON_ZERO
	469: true, // VIOLATED_CONSTRAINT (CHECK constraints, ClickHouse 19.14+)
	497: true, // ACCESS_DENIED
	516: true, // AUTHENTICATION_FAILED
}

// rowCodes are the permanent codes that name a bad value in the data sent,
// not a wrong schema, query or user: the other rows of the batch can be
// written without the offending ones.
var rowCodes = map[int32]bool{
	6:   true, // CANNOT_PARSE_TEXT
	26:  true, // CANNOT_PARSE_QUOTED_STRING
	27:  true, // CANNOT_PARSE_INPUT_ASSERTION_FAILED
	38:  true, // CANNOT_PARSE_DATE
	41:  true, // CANNOT_PARSE_DATETIME
	69:  true, // ARGUMENT_OUT_OF_BOUND
	70:  true, // CANNOT_CONVERT_TYPE
	117: true, // INCORRECT_DATA
	395: true, // FUNCTION_THROW_IF_VALUE_IS_NON_ZERO
	469: true, // VIOLATED_CONSTRAINT
}
