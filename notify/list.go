package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// Template types, as the list endpoint's template_type filter takes them.
const (
	TypeSMS    = "sms"
	TypeEmail  = "email"
	TypeLetter = "letter"
)

// ListFilter selects notifications for ListPage and List (GET /v2/notifications).
// Zero fields do not filter.
type ListFilter struct {
	// TemplateType is sms, letter or email.
	TemplateType string
	// Statuses are any of ListStatuses; "failed" stands for every failure status.
	Statuses []string
	// Reference is the reference the notifications were sent with.
	Reference string
	// OlderThan is a notification id: only notifications created before it are
	// listed. Paging sets it; an id Notify does not know lists nothing.
	OlderThan string
}

func (f ListFilter) validate() error {
	switch f.TemplateType {
	case "", TypeSMS, TypeEmail, TypeLetter:
	default:
		return &ValidationError{Field: "template_type", Message: fmt.Sprintf("%q is not one of sms, email, letter", f.TemplateType)}
	}
	for _, s := range f.Statuses {
		if !knownListStatus(s) {
			return &ValidationError{Field: "status", Message: fmt.Sprintf("%q is not a notification status", s)}
		}
	}
	if f.OlderThan != "" && !IsUUID(f.OlderThan) {
		return &ValidationError{Field: "older_than", Message: "not a valid UUID"}
	}
	return nil
}

func (f ListFilter) query() url.Values {
	q := url.Values{}
	if f.TemplateType != "" {
		q.Set("template_type", f.TemplateType)
	}
	for _, s := range f.Statuses {
		q.Add("status", s)
	}
	if f.Reference != "" {
		q.Set("reference", f.Reference)
	}
	if f.OlderThan != "" {
		q.Set("older_than", f.OlderThan)
	}
	return q
}

// matches reports whether n is one the filter asks for (a guard against a server
// that ignores a filter: what does not match is dropped).
func (f ListFilter) matches(n *Notification) bool {
	if f.Reference != "" && n.Reference != f.Reference {
		return false
	}
	if f.TemplateType != "" && n.Type != "" && n.Type != f.TemplateType {
		return false
	}
	if len(f.Statuses) == 0 {
		return true
	}
	for _, s := range f.Statuses {
		if n.Status == s || s == StatusFailed && contains(FailureStatuses, n.Status) {
			return true
		}
	}
	return false
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// Page is one page of notifications, newest first.
type Page struct {
	Notifications []Notification
	// Next is the filter of the following page, from the page's links.next (its
	// older_than the last notification of this page); nil when there is none. Notify
	// gives a next link on every page that is not empty, so the last page of a listing
	// is the first empty one.
	Next *ListFilter
}

// ListPage fetches one page of notifications (GET /v2/notifications with f's filters:
// template_type, status, reference, older_than).
func (c *Client) ListPage(ctx context.Context, f ListFilter) (*Page, error) {
	if err := f.validate(); err != nil {
		return nil, err
	}
	var page *Page
	decode := func(b []byte) (err error) {
		page, err = decodePage(b, c.base.Path+"/v2/notifications", f)
		return err
	}
	if err := c.call(ctx, http.MethodGet, "/v2/notifications", f.query(), nil, decode, nil); err != nil {
		return nil, err
	}
	return page, nil
}

// maxListPages bounds one listing: 250 notifications a page, so 25 million.
const maxListPages = 100000

// List calls fn with every notification f selects, newest first, page after page
// until Notify's next links run out. fn's error stops the listing and is returned.
func (c *Client) List(ctx context.Context, f ListFilter, fn func(Notification) error) error {
	seen := map[string]bool{}
	for pages := 0; ; pages++ {
		if pages == maxListPages {
			return fmt.Errorf("notify: list notifications: more than %d pages", maxListPages)
		}
		page, err := c.ListPage(ctx, f)
		if err != nil {
			return err
		}
		for _, n := range page.Notifications {
			if err := fn(n); err != nil {
				return err
			}
		}
		if page.Next == nil || len(page.Notifications) == 0 {
			return nil
		}
		if seen[page.Next.OlderThan] {
			return fmt.Errorf("notify: list notifications: the next link repeats an earlier page")
		}
		seen[page.Next.OlderThan] = true
		f = *page.Next
	}
}

// listResponse is the list endpoint's answer.
type listResponse struct {
	Notifications []json.RawMessage `json:"notifications"`
	Links         struct {
		Current string `json:"current"`
		Next    string `json:"next"`
	} `json:"links"`
}

// decodePage reads a list answer: every notification must be one (decodeNotification),
// those the filter did not ask for are dropped, and a next link must point at the
// list endpoint (path listPath, on any host: only its query is used, so the token
// never goes elsewhere) with the same filters and an older_than id of the page.
func decodePage(b []byte, listPath string, asked ListFilter) (*Page, error) {
	var resp listResponse
	if err := json.Unmarshal(b, &resp); err != nil {
		return nil, err
	}
	if resp.Notifications == nil {
		return nil, errors.New("no notifications list")
	}
	page := &Page{Notifications: make([]Notification, 0, len(resp.Notifications))}
	ids := make(map[string]bool, len(resp.Notifications))
	for i, raw := range resp.Notifications {
		n, err := decodeNotification(raw)
		if err != nil {
			return nil, fmt.Errorf("notification %d of the page: %w", i+1, err)
		}
		ids[strings.ToLower(n.ID)] = true
		if asked.matches(n) {
			page.Notifications = append(page.Notifications, *n)
		}
	}
	if resp.Links.Next == "" {
		return page, nil
	}
	next, err := url.Parse(resp.Links.Next)
	if err != nil || strings.TrimRight(next.Path, "/") != listPath || next.User != nil || next.Opaque != "" {
		return nil, fmt.Errorf("unexpected next link %q", resp.Links.Next)
	}
	q := next.Query()
	nf := ListFilter{TemplateType: q.Get("template_type"), Statuses: q["status"], Reference: q.Get("reference"), OlderThan: q.Get("older_than")}
	switch {
	case nf.OlderThan == "" || !ids[strings.ToLower(nf.OlderThan)]:
		return nil, fmt.Errorf("next link's older_than is not a notification of the page")
	case nf.Reference != asked.Reference || nf.TemplateType != asked.TemplateType || strings.Join(nf.Statuses, ",") != strings.Join(asked.Statuses, ","):
		return nil, fmt.Errorf("next link changes the filters")
	}
	page.Next = &nf
	return page, nil
}

// decodeNotification reads one notification, from a send answer, a GET or a list
// page. Its id must be a UUID; the recipient fields are never decoded.
func decodeNotification(b []byte) (*Notification, error) {
	var n Notification
	if err := json.Unmarshal(b, &n); err != nil {
		return nil, err
	}
	if !IsUUID(n.ID) {
		return nil, errors.New("notification without a valid id")
	}
	return &n, nil
}

// decodeAPIError reads Notify's error answer {"status_code": 400, "errors": [{"error":
// "ValidationError", "message": "..."}]}; an answer in another shape keeps its status
// and a short excerpt.
func decodeAPIError(status int, b []byte) *APIError {
	e := &APIError{}
	if json.Unmarshal(b, e) != nil || len(e.Errors) == 0 {
		e.Errors = []ErrorItem{{Error: http.StatusText(status), Message: snippet(b)}}
	}
	e.Status = status
	return e
}
