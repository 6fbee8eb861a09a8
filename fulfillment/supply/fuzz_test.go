package supply

import (
	"bytes"
	"net/url"
	"strings"
	"testing"

	"groupbuy/internal/csvio"
	"groupbuy/internal/csvio/csviotest"
	"groupbuy/internal/input"
)

// FuzzImportSuppliersCSV feeds arbitrary files through the supplier import's
// steps before its database write (readSupplierCSV, then each row's
// Validate, as saveSupplier runs it for a supplier without a stored
// secret). Nothing may panic; a refusal is a 400, naming its line when it is
// about a row; what passes is within the rules and is text PostgreSQL can
// store, with one row a code.
func FuzzImportSuppliersCSV(f *testing.F) {
	f.Add([]byte(strings.Join(SupplierCSVColumns, ",") + "\nC,供应商C,\"李, 13800000000\",email,,,orders@c.cn\n" +
		"A,供应商A,,webhook,https://a.cn/po,0123456789abcdef,\n"))
	f.Add([]byte("code,name,channel\nC,x,fax\nC,y,email\n"))
	// Each field one step from its rule, one file each, for the fuzzer to
	// start from.
	for _, row := range []string{"C\x7f,x,,email,,,po@c.cn", "C,供应\x01商,,email,,,po@c.cn", "C,x,李\t四,email,,,po@c.cn",
		"C,x,,email,,,<po@c.cn>", "C,x,,email,,,\"\"\"p o\"\"@c.cn\"", "C,x,,webhook,https://a.cn/\u2028po,0123456789abcdef,",
		"C,x,,webhook,https://a.cn/po,0123456789abcde\x00,"} {
		f.Add([]byte(strings.Join(SupplierCSVColumns, ",") + "\n" + row + "\n"))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		rows, err := readSupplierCSV(bytes.NewReader(data))
		for i := 0; err == nil && i < len(rows); i++ {
			if err = rows[i].Validate(false); err != nil {
				err = csvio.AtLine(rows[i].line, err)
			}
		}
		if err != nil {
			csviotest.CheckRefusal(t, data, err)
			return
		}
		codes := map[string]bool{}
		for _, r := range rows {
			in := r.SupplierInput
			if input.CheckCode("code", in.Code) != nil || codes[in.Code] || !input.Printable(in.Name, 100) || !input.OptionalPrintable(in.Contact, 100) {
				t.Fatalf("accepted code, name or contact break the rules: %+v", in)
			}
			codes[in.Code] = true
			switch in.Channel {
			case ChannelEmail:
				if !input.Email(in.Email) || in.WebhookURL != "" || in.WebhookSecret != "" {
					t.Fatalf("accepted e-mail supplier breaks the rules: %+v", in)
				}
			case ChannelWebhook:
				u, err := url.Parse(in.WebhookURL)
				if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || in.Email != "" || !input.Printable(in.WebhookSecret, 200) {
					t.Fatalf("accepted webhook supplier breaks the rules: %+v", in)
				}
			default:
				t.Fatalf("accepted channel %q", in.Channel)
			}
			csviotest.CheckStorable(t, in, in.Code, in.Name, in.Contact, in.WebhookURL, in.WebhookSecret, in.Email)
		}
	})
}
