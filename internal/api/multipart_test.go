package api_test

import (
	"bytes"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"testing"

	"github.com/gin-gonic/gin"

	"groupbuy/internal/api"
	"groupbuy/internal/api/openapi"
)

// upload is a multipart form: a field and files.
type upload struct {
	Title string         `json:"title" max:"50"`
	File  []api.FormFile `json:"file,omitempty" doc:"Up to 2 files."`
}

// TestMultipartBodyIsDocumentedAndLeftToTheHandler: a Body struct with
// content multipart/form-data documents the form (files as binary) and
// leaves the stream to the handler, which reads the parts itself.
func TestMultipartBodyIsDocumentedAndLeftToTheHandler(t *testing.T) {
	routes := []api.Route{{Method: http.MethodPost, Path: "/uploads", Access: api.Access{Name: "public"}, Tag: "ops", Summary: "Upload",
		Handler: api.JSON(func(c *gin.Context, _ struct {
			Body upload `content:"multipart/form-data"`
		}) (map[string]int, error) {
			mr, err := c.Request.MultipartReader()
			if err != nil {
				return nil, err
			}
			sizes := map[string]int{}
			for {
				p, err := mr.NextPart()
				if err == io.EOF {
					return sizes, nil
				}
				if err != nil {
					return nil, err
				}
				b, _ := io.ReadAll(p)
				sizes[p.FormName()] += len(b)
			}
		})}}
	raw, err := openapi.Generate(routes, shopDoc)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Paths map[string]map[string]struct {
			RequestBody struct {
				Content map[string]struct {
					Schema struct {
						Ref string `json:"$ref"`
					} `json:"schema"`
				} `json:"content"`
			} `json:"requestBody"`
		} `json:"paths"`
		Components struct {
			Schemas map[string]struct {
				Properties map[string]struct {
					Items struct{ Type, Format string } `json:"items"`
				} `json:"properties"`
			} `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	ref := doc.Paths["/uploads"]["post"].RequestBody.Content["multipart/form-data"].Schema.Ref
	if ref != "#/components/schemas/upload" {
		t.Fatalf("request body: %q", ref)
	}
	if f := doc.Components.Schemas["upload"].Properties["file"].Items; f.Type != "string" || f.Format != "binary" {
		t.Fatalf("file parts: %+v", f)
	}
	for _, p := range openapi.Problems(raw) {
		t.Errorf("document: %s", p)
	}

	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	w.WriteField("title", "收据")
	fw, _ := w.CreateFormFile("file", "a.bin")
	fw.Write(make([]byte, 1000))
	w.Close()
	srv := serve(t, routes)
	a := call(t, srv.Client(), http.MethodPost, srv.URL+"/uploads", "", body.String(),
		"Content-Type", w.FormDataContentType())
	if a.status != http.StatusOK || string(a.body) != `{"file":1000,"title":6}` {
		t.Fatalf("upload: %d %s", a.status, a.body)
	}
}
