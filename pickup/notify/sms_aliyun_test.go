package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestAliyunSignatureDocumentedExample reproduces the worked example of the
// SMS signature document, "签名机制" / "Signature method":
// https://help.aliyun.com/document_detail/101343.htm
// https://www.alibabacloud.com/help/en/sms/signature-method
// (AccessKeyId testId, AccessKeySecret testSecret, a GET SendSms request).
func TestAliyunSignatureDocumentedExample(t *testing.T) {
	params := map[string]string{
		"AccessKeyId":      "testId",
		"Action":           "SendSms",
		"Format":           "XML",
		"OutId":            "123",
		"PhoneNumbers":     "15300000001",
		"RegionId":         "cn-hangzhou",
		"SignName":         "阿里云短信测试专用",
		"SignatureMethod":  "HMAC-SHA1",
		"SignatureNonce":   "45e25e9b-0a6f-4070-8c85-2956eda1b466",
		"SignatureVersion": "1.0",
		"TemplateCode":     "SMS_71390007",
		"TemplateParam":    `{"customer":"test"}`,
		"Timestamp":        "2017-07-12T02:42:19Z",
		"Version":          "2017-05-25",
	}
	const wantStringToSign = "GET&%2F&AccessKeyId%3DtestId%26Action%3DSendSms%26Format%3DXML%26OutId%3D123" +
		"%26PhoneNumbers%3D15300000001%26RegionId%3Dcn-hangzhou%26SignName%3D%25E9%2598%25BF%25E9%2587%258C" +
		"%25E4%25BA%2591%25E7%259F%25AD%25E4%25BF%25A1%25E6%25B5%258B%25E8%25AF%2595%25E4%25B8%2593%25E7%2594%25A8" +
		"%26SignatureMethod%3DHMAC-SHA1%26SignatureNonce%3D45e25e9b-0a6f-4070-8c85-2956eda1b466" +
		"%26SignatureVersion%3D1.0%26TemplateCode%3DSMS_71390007" +
		"%26TemplateParam%3D%257B%2522customer%2522%253A%2522test%2522%257D" +
		"%26Timestamp%3D2017-07-12T02%253A42%253A19Z%26Version%3D2017-05-25"
	if got := aliyunStringToSign(http.MethodGet, params); got != wantStringToSign {
		t.Errorf("StringToSign\n got %s\nwant %s", got, wantStringToSign)
	}
	if got, want := aliyunSignature(http.MethodGet, params, "testSecret"), "zJDF+Lrzhj/ThnlvIToysFRq6t4="; got != want {
		t.Errorf("signature = %s, want %s", got, want)
	}
}

func TestAliyunEscape(t *testing.T) {
	for in, want := range map[string]string{
		"a b": "a%20b", "*": "%2A", "~-_.": "~-_.", "/=&+": "%2F%3D%26%2B", "提": "%E6%8F%90",
	} {
		if got := aliyunEscape(in); got != want {
			t.Errorf("aliyunEscape(%q) = %q, want %q", in, got, want)
		}
	}
}

// fakeDysms plays the Aliyun SendSms endpoint: it recomputes the signature
// from the received form with the shared secret, refuses a mismatch the way
// Aliyun does, and answers by phone number.
type fakeDysms struct {
	secret string

	mu    sync.Mutex
	forms []map[string]string
}

func (f *fakeDysms) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json;charset=utf-8")
	if err := r.ParseForm(); err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	params := map[string]string{}
	for k := range r.Form {
		params[k] = r.Form.Get(k)
	}
	got := params["Signature"]
	delete(params, "Signature")
	f.mu.Lock()
	f.forms = append(f.forms, params)
	f.mu.Unlock()
	if got == "" || got != aliyunSignature(r.Method, params, f.secret) {
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprint(w, `{"RequestId":"r-sig","HostId":"dysmsapi.aliyuncs.com","Code":"SignatureDoesNotMatch","Message":"Specified signature is not matched with our calculation."}`)
		return
	}
	if ts, err := time.Parse("2006-01-02T15:04:05Z", params["Timestamp"]); err != nil || time.Since(ts).Abs() > 15*time.Minute {
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprint(w, `{"RequestId":"r-ts","Code":"InvalidTimeStamp.Expired","Message":"Specified time stamp or date value is expired."}`)
		return
	}
	switch params["PhoneNumbers"] {
	case "13800000001":
		fmt.Fprint(w, `{"RequestId":"r-limit","Code":"isv.BUSINESS_LIMIT_CONTROL","Message":"触发分钟级流控Permits:1"}`)
	case "13800000002":
		fmt.Fprint(w, `{"RequestId":"r-bad","Code":"isv.MOBILE_NUMBER_ILLEGAL","Message":"非法手机号"}`)
	case "13800000003":
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprint(w, `<html>upstream unavailable</html>`)
	default:
		fmt.Fprint(w, `{"Message":"OK","RequestId":"r-ok","Code":"OK","BizId":"900619746936498440^0"}`)
	}
}

func (f *fakeDysms) last() map[string]string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.forms[len(f.forms)-1]
}

func newTestSMS(t *testing.T, secret string) (*AliyunSMS, *fakeDysms) {
	t.Helper()
	fake := &fakeDysms{secret: "s3cret"}
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	sms := NewAliyunSMS(SMSConfig{
		Endpoint:        srv.URL + "/",
		AccessKeyID:     "LTAI-test",
		AccessKeySecret: secret,
		SignName:        "邻里团",
		Templates:       map[Kind]string{KindArrival: "SMS_100001", KindRefund: "SMS_100003"},
		Timeout:         2 * time.Second,
	})
	return sms, fake
}

func TestAliyunSMSSend(t *testing.T) {
	sms, fake := newTestSMS(t, "s3cret")
	ctx := context.Background()
	m := Message{
		Key: "arrival:2026-12-01:42", Kind: KindArrival, ResidentID: 42, Phone: "13800000000",
		Vars: map[string]string{"point": "幸福里 3 号楼 & 便利店", "code": "8-3-12", "hours": "09:00-21:00", "address": "幸福路 1 号"},
	}
	if sms.Name() != ChannelSMS {
		t.Fatalf("Name = %q", sms.Name())
	}
	if err := sms.Send(ctx, m); err != nil {
		t.Fatalf("Send: %v", err)
	}
	got := fake.last()
	for k, want := range map[string]string{
		"Action": "SendSms", "Version": "2017-05-25", "PhoneNumbers": "13800000000", "SignName": "邻里团",
		"TemplateCode": "SMS_100001", "OutId": m.Key, "AccessKeyId": "LTAI-test", "Format": "JSON",
		"SignatureMethod": "HMAC-SHA1", "SignatureVersion": "1.0",
	} {
		if got[k] != want {
			t.Errorf("%s = %q, want %q", k, got[k], want)
		}
	}
	var vars map[string]string
	if err := json.Unmarshal([]byte(got["TemplateParam"]), &vars); err != nil || vars["point"] != m.Vars["point"] || vars["code"] != "8-3-12" {
		t.Errorf("TemplateParam = %s (%v)", got["TemplateParam"], err)
	}
	if strings.Contains(got["TemplateParam"], `\u0026`) {
		t.Errorf("TemplateParam escapes &: %s", got["TemplateParam"])
	}

	// Each request needs its own nonce or Aliyun refuses it as a replay.
	nonce := got["SignatureNonce"]
	if err := sms.Send(ctx, m); err != nil {
		t.Fatalf("second Send: %v", err)
	}
	if fake.last()["SignatureNonce"] == nonce {
		t.Error("nonce reused")
	}
}

func TestAliyunSMSErrors(t *testing.T) {
	sms, _ := newTestSMS(t, "s3cret")
	ctx := context.Background()
	base := Message{Key: "refund:7", Kind: KindRefund, Vars: map[string]string{"amount": "12.50"}}

	tests := []struct {
		phone     string
		code      string
		permanent bool
	}{
		{"13800000001", "isv.BUSINESS_LIMIT_CONTROL", false},
		{"13800000002", "isv.MOBILE_NUMBER_ILLEGAL", true},
		{"13800000003", "", false}, // 503 with an HTML body
	}
	for _, tt := range tests {
		m := base
		m.Phone = tt.phone
		err := sms.Send(ctx, m)
		if err == nil {
			t.Errorf("%s: no error", tt.phone)
			continue
		}
		if IsPermanent(err) != tt.permanent {
			t.Errorf("%s: IsPermanent = %v, want %v (%v)", tt.phone, IsPermanent(err), tt.permanent, err)
		}
		var serr *SMSError
		if tt.code != "" && (!errors.As(err, &serr) || serr.Code != tt.code) {
			t.Errorf("%s: error %v, want code %s", tt.phone, err, tt.code)
		}
	}

	// A wrong secret: the fake's recomputed signature differs.
	bad, _ := newTestSMS(t, "not-the-secret")
	m := base
	m.Phone = "13800000000"
	err := bad.Send(ctx, m)
	var serr *SMSError
	if !errors.As(err, &serr) || serr.Code != "SignatureDoesNotMatch" || !IsPermanent(err) {
		t.Errorf("wrong secret: %v, want permanent SignatureDoesNotMatch", err)
	}
}

func TestAliyunSMSNotApplicable(t *testing.T) {
	sms, fake := newTestSMS(t, "s3cret")
	for _, m := range []Message{
		{Key: "a", Kind: KindArrival},                        // no phone
		{Key: "b", Kind: KindReminder, Phone: "13800000000"}, // no template for the kind
	} {
		if err := sms.Send(context.Background(), m); !errors.Is(err, ErrNotApplicable) {
			t.Errorf("%s: %v, want ErrNotApplicable", m.Key, err)
		}
	}
	if len(fake.forms) != 0 {
		t.Errorf("%d requests sent, want none", len(fake.forms))
	}
}
