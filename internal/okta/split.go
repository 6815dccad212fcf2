package okta

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// splitArray splits a page body, a JSON array, into its elements without
// parsing them: one pass that tracks only strings (with their escapes) and
// bracket depth. The elements are sub-slices of body, not copies.
//
// It fails when body is not one complete array: no '[' first, a cut-off
// array, an empty element, or anything but whitespace after the closing ']'.
// It does not check each element's own syntax: the event decoder does that
// and dead-letters an invalid element alone, so one bad event no longer makes
// its whole page invalid (an element nested deeper than encoding/json's
// 10,000 levels is only an element here). Every byte of an element belongs
// to exactly one element, so nothing in a page can be lost by splitting it.
func splitArray(body []byte) ([]json.RawMessage, error) {
	n := len(body)
	i := skipSpace(body, 0)
	if i == n || body[i] != '[' {
		return nil, errors.New("page body is not a json array")
	}
	i = skipSpace(body, i+1)
	events := []json.RawMessage{}
	if i < n && body[i] == ']' {
		return finish(events, body, i+1)
	}
	for {
		start := i
		end, err := elementEnd(body, i)
		if err != nil {
			return nil, err
		}
		elem := trimRight(body[start:end])
		if len(elem) == 0 {
			return nil, fmt.Errorf("decode page: empty array element at offset %d", start)
		}
		events = append(events, elem)
		// elementEnd stops at ',' or ']' outside any string or bracket.
		if body[end] == ']' {
			return finish(events, body, end+1)
		}
		i = skipSpace(body, end+1)
	}
}

// elementEnd returns the offset of the ',' or ']' that ends the element
// starting at i.
func elementEnd(body []byte, i int) (int, error) {
	depth := 0
	for n := len(body); i < n; i++ {
		switch body[i] {
		case '"':
			end := stringEnd(body, i)
			if end < 0 {
				return 0, fmt.Errorf("decode page: unterminated string at offset %d", i)
			}
			i = end
		case '{', '[':
			depth++
		case '}':
			if depth == 0 {
				return 0, fmt.Errorf("decode page: unexpected '}' at offset %d", i)
			}
			depth--
		case ']':
			if depth == 0 {
				return i, nil
			}
			depth--
		case ',':
			if depth == 0 {
				return i, nil
			}
		}
	}
	return 0, errors.New("decode page: unexpected end of json array")
}

// stringEnd returns the offset of the quote closing the string that opens at
// body[i], or -1. A quote is escaped when an odd number of backslashes
// precedes it.
func stringEnd(body []byte, i int) int {
	for j := i + 1; ; {
		k := bytes.IndexByte(body[j:], '"')
		if k < 0 {
			return -1
		}
		q := j + k
		bs := 0
		for p := q - 1; p > i && body[p] == '\\'; p-- {
			bs++
		}
		if bs%2 == 0 {
			return q
		}
		j = q + 1
	}
}

// finish accepts events when only whitespace follows the array's ']' at i-1.
func finish(events []json.RawMessage, body []byte, i int) ([]json.RawMessage, error) {
	if j := skipSpace(body, i); j != len(body) {
		return nil, fmt.Errorf("decode page: data after the json array at offset %d", j)
	}
	return events, nil
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	return i
}

func trimRight(b []byte) []byte {
	for len(b) > 0 && isSpace(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	return b
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }
