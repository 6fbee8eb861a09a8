package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"
)

// DefaultAliyunEndpoint is the public endpoint of Aliyun SMS (dysmsapi).
const DefaultAliyunEndpoint = "https://dysmsapi.aliyuncs.com/"

// SMSConfig configures the Aliyun SMS channel.
type SMSConfig struct {
	Endpoint        string           // default DefaultAliyunEndpoint; tests point it at a loopback server
	AccessKeyID     string           // AccessKey ID
	AccessKeySecret string           // AccessKey secret
	SignName        string           // 签名, e.g. "邻里团"; must be approved by Aliyun
	Templates       map[Kind]string  // notice kind -> approved template code, e.g. "arrival": "SMS_123456789"
	RegionID        string           // default "cn-hangzhou"
	Timeout         time.Duration    // per request; default 5 s
	Client          *http.Client     // nil: a client of the channel's own
	Now             func() time.Time // clock for the signed Timestamp; nil: time.Now
}

// AliyunSMS sends notices through Aliyun SMS SendSms (API 2017-05-25),
// signed with the RPC signature (HMAC-SHA1, SignatureVersion 1.0).
//
// It never retries within a call: Aliyun has no idempotency key for
// SendSms, so after a timeout the text may have gone out, and only the
// dispatcher, which sees the whole history of a notice, should decide to
// risk a second one.
type AliyunSMS struct {
	cfg    SMSConfig
	client *http.Client
}

// NewAliyunSMS returns the SMS channel for cfg.
func NewAliyunSMS(cfg SMSConfig) *AliyunSMS {
	if cfg.Endpoint == "" {
		cfg.Endpoint = DefaultAliyunEndpoint
	}
	if cfg.RegionID == "" {
		cfg.RegionID = "cn-hangzhou"
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 5 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	client := cfg.Client
	if client == nil {
		client = &http.Client{Transport: newTransport(false)}
	}
	return &AliyunSMS{cfg: cfg, client: client}
}

// Name returns "sms"; quiet hours apply to this channel.
func (s *AliyunSMS) Name() string { return ChannelSMS }

// SMSError is an error code Aliyun answered with, e.g.
// "isv.BUSINESS_LIMIT_CONTROL" or "SignatureDoesNotMatch".
type SMSError struct {
	HTTPStatus int
	Code       string
	Message    string
	RequestID  string
}

func (e *SMSError) Error() string {
	return fmt.Sprintf("notify: aliyun sms: %s: %s (http %d, request %s)", e.Code, e.Message, e.HTTPStatus, e.RequestID)
}

// Send texts m.Vars through the template configured for m.Kind. A resident
// without a phone, or a kind the operator sends no SMS for (each template
// needs Aliyun's approval, so not every kind has one), is ErrNotApplicable.
func (s *AliyunSMS) Send(ctx context.Context, m Message) error {
	if m.Phone == "" {
		return fmt.Errorf("%w: no phone number", ErrNotApplicable)
	}
	code := s.cfg.Templates[m.Kind]
	if code == "" {
		return fmt.Errorf("%w: no SMS template for %q", ErrNotApplicable, m.Kind)
	}
	var param bytes.Buffer
	enc := json.NewEncoder(&param)
	enc.SetEscapeHTML(false) // keep "&" and "<" in names and addresses readable
	vars := m.Vars
	if vars == nil {
		vars = map[string]string{}
	}
	if err := enc.Encode(vars); err != nil {
		return Permanent(fmt.Errorf("notify: aliyun sms: template params: %w", err))
	}
	params := map[string]string{
		"AccessKeyId":      s.cfg.AccessKeyID,
		"Action":           "SendSms",
		"Format":           "JSON",
		"OutId":            m.Key, // comes back in delivery receipts
		"PhoneNumbers":     m.Phone,
		"RegionId":         s.cfg.RegionID,
		"SignName":         s.cfg.SignName,
		"SignatureMethod":  "HMAC-SHA1",
		"SignatureNonce":   newNonce(),
		"SignatureVersion": "1.0",
		"TemplateCode":     code,
		"TemplateParam":    strings.TrimSuffix(param.String(), "\n"),
		"Timestamp":        s.cfg.Now().UTC().Format("2006-01-02T15:04:05Z"),
		"Version":          "2017-05-25",
	}
	form := url.Values{}
	for k, v := range params {
		form.Set(k, v)
	}
	form.Set("Signature", aliyunSignature(http.MethodPost, params, s.cfg.AccessKeySecret))

	actx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	// POST keeps the phone number out of URLs and access logs.
	req, err := http.NewRequestWithContext(actx, http.MethodPost, s.cfg.Endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return Permanent(fmt.Errorf("notify: aliyun sms: %w", err))
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := s.client.Do(req)
	if err != nil {
		return fmt.Errorf("notify: aliyun sms: %w", err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return fmt.Errorf("notify: aliyun sms: reading response: %w", err)
	}
	var ans struct {
		Code      string
		Message   string
		RequestID string `json:"RequestId"`
	}
	if err := json.Unmarshal(raw, &ans); err != nil || ans.Code == "" {
		e := fmt.Errorf("notify: aliyun sms: %s: unexpected answer %.200q", resp.Status, raw)
		if resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests {
			return e
		}
		return Permanent(e)
	}
	if ans.Code == "OK" {
		return nil
	}
	serr := &SMSError{HTTPStatus: resp.StatusCode, Code: ans.Code, Message: ans.Message, RequestID: ans.RequestID}
	if aliyunTransient(ans.Code, resp.StatusCode) {
		return serr
	}
	return Permanent(serr)
}

// aliyunTransient sorts Aliyun's error codes (help.aliyun.com/document_detail/101346.html):
// flow control, quotas, an empty balance and platform faults clear up with
// time; a bad number, sign name, template, parameter or credential does not.
func aliyunTransient(code string, status int) bool {
	switch code {
	case "isv.BUSINESS_LIMIT_CONTROL", // per-number minute/hour/day flow control
		"isv.DAY_LIMIT_CONTROL", "isv.MONTH_LIMIT_CONTROL", // account quotas set in the console
		"isv.OUT_OF_SERVICE", "isv.AMOUNT_NOT_ENOUGH", // balance: fixed by topping up
		"isp.SYSTEM_ERROR", "isp.GATEWAY_ERROR",
		"ServiceUnavailable", "InternalError":
		return true
	case "isp.RAM_PERMISSION_DENY":
		return false
	}
	switch {
	case strings.HasPrefix(code, "Throttling"), strings.HasPrefix(code, "isp."):
		return true
	case strings.HasPrefix(code, "isv."):
		return false
	}
	return status >= 500 || status == http.StatusTooManyRequests
}

// aliyunSignature computes the RPC-style signature documented at
// https://www.alibabacloud.com/help/en/sms/signature-method: sort the
// parameters by name, percent-encode names and values (RFC 3986, space as
// %20), join them as a query string, then StringToSign = method + "&" +
// encode("/") + "&" + encode(query), and Signature = base64(HMAC-SHA1(secret
// + "&", StringToSign)). params must not contain Signature.
func aliyunSignature(method string, params map[string]string, secret string) string {
	mac := hmac.New(sha1.New, []byte(secret+"&"))
	mac.Write([]byte(aliyunStringToSign(method, params)))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

func aliyunStringToSign(method string, params map[string]string) string {
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var q strings.Builder
	for i, k := range keys {
		if i > 0 {
			q.WriteByte('&')
		}
		q.WriteString(aliyunEscape(k))
		q.WriteByte('=')
		q.WriteString(aliyunEscape(params[k]))
	}
	return method + "&" + aliyunEscape("/") + "&" + aliyunEscape(q.String())
}

// aliyunEscape percent-encodes every byte except A-Z a-z 0-9 - _ . ~, with
// upper-case hex, as Aliyun's POP signature requires; url.QueryEscape would
// turn a space into "+" and leave "*" alone.
func aliyunEscape(s string) string {
	const hexdig = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(s) * 3)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexdig[c>>4])
		b.WriteByte(hexdig[c&15])
	}
	return b.String()
}

// newNonce returns a random SignatureNonce; Aliyun refuses a nonce it has
// seen within 15 minutes, so each request needs its own.
func newNonce() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	return hex.EncodeToString(b[:])
}
