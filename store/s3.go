package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
)

// DefaultS3Region is the region used when neither ICE_S3_REGION nor AWS_REGION is set.
const DefaultS3Region = "eu-west-2"

// MaxS3PutSize is the largest object one S3 PutObject request may carry (5 GiB).
// Put refuses larger objects rather than sending a request S3 would reject.
const MaxS3PutSize = 5 << 30

// Server-side encryption modes accepted in S3Options.SSE.
const (
	SSENone   = ""
	SSEAES256 = "AES256"  // SSE-S3: keys managed by S3
	SSEKMS    = "aws:kms" // SSE-KMS: the bucket's default KMS key, or KMSKeyID
)

// S3Options configures the S3 backend.
type S3Options struct {
	// Bucket holds the objects; required.
	Bucket string
	// Prefix is prepended, with a "/", to every key; keys and List results are
	// relative to it. Leading and trailing slashes are ignored. Empty means the
	// whole bucket.
	Prefix string
	// Region is the signing region; empty means DefaultS3Region.
	Region string
	// Endpoint overrides the S3 endpoint (an absolute http:// or https:// URL) for
	// S3-compatible servers; empty means AWS.
	Endpoint string
	// PathStyle addresses buckets as ENDPOINT/bucket/key rather than
	// bucket.ENDPOINT/key, as most S3-compatible servers need.
	PathStyle bool
	// AccessKey and SecretKey, when both set, are used as static credentials.
	// When both are empty the standard AWS credential chain is used
	// (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/AWS_SESSION_TOKEN, shared config
	// and credentials files with AWS_PROFILE, web identity, ECS and EC2 roles).
	AccessKey, SecretKey string
	// SSE asks S3 to encrypt each object Put writes: SSENone, SSEAES256 or SSEKMS.
	SSE string
	// KMSKeyID names the KMS key for SSEKMS; empty means the account's default
	// aws/s3 key. Only valid with SSE == SSEKMS.
	KMSKeyID string
}

// S3OptionsFromEnv reads S3 settings from the environment (Bucket and Prefix come
// from the store URL, not from here):
//
//	ICE_S3_ENDPOINT    endpoint of an S3-compatible server (empty: AWS)
//	ICE_S3_REGION      region; falls back to AWS_REGION, then DefaultS3Region
//	ICE_S3_PATH_STYLE  true/false; defaults to true when ICE_S3_ENDPOINT is set
//	ICE_S3_SSE         "", "AES256" or "aws:kms"
//	ICE_S3_KMS_KEY_ID  KMS key for aws:kms
//
// Credentials are left empty so that NewS3Store uses the standard AWS credential
// chain, which reads AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN
// first. An ICE_S3_PATH_STYLE that does not parse as a boolean counts as true, since
// path-style requests work on AWS as well as on S3-compatible servers.
func S3OptionsFromEnv() S3Options {
	o := S3Options{
		Endpoint: strings.TrimSpace(os.Getenv("ICE_S3_ENDPOINT")),
		Region:   strings.TrimSpace(os.Getenv("ICE_S3_REGION")),
		SSE:      strings.TrimSpace(os.Getenv("ICE_S3_SSE")),
		KMSKeyID: strings.TrimSpace(os.Getenv("ICE_S3_KMS_KEY_ID")),
	}
	if o.Region == "" {
		o.Region = strings.TrimSpace(os.Getenv("AWS_REGION"))
	}
	if o.Region == "" {
		o.Region = DefaultS3Region
	}
	o.PathStyle = o.Endpoint != ""
	if v := strings.TrimSpace(os.Getenv("ICE_S3_PATH_STYLE")); v != "" {
		b, err := strconv.ParseBool(v)
		o.PathStyle = b || err != nil
	}
	return o
}

// S3Store keeps objects in an S3 bucket (AWS or any S3-compatible server) under
// an optional key prefix. An S3 PUT is atomic: readers see the old object or the
// whole new one, never a part.
type S3Store struct {
	client *s3.Client
	bucket string
	prefix string // without slashes at either end; "" for the whole bucket
	sse    types.ServerSideEncryption
	kmsKey string
}

// NewS3Store checks o and returns a store backed by its bucket. It sends no
// request: a wrong bucket or credentials show up on the first operation.
func NewS3Store(ctx context.Context, o S3Options) (Store, error) {
	if o.Bucket == "" {
		return nil, errors.New("store: s3: bucket is required")
	}
	prefix := strings.Trim(o.Prefix, "/")
	if prefix != "" {
		if err := ValidateKey(prefix); err != nil {
			return nil, fmt.Errorf("store: s3: invalid prefix %q", o.Prefix)
		}
	}
	var sse types.ServerSideEncryption
	switch o.SSE {
	case SSENone:
	case SSEAES256:
		sse = types.ServerSideEncryptionAes256
	case SSEKMS:
		sse = types.ServerSideEncryptionAwsKms
	default:
		return nil, fmt.Errorf("store: s3: unsupported SSE %q (want %q, %q or empty)", o.SSE, SSEAES256, SSEKMS)
	}
	if o.KMSKeyID != "" && o.SSE != SSEKMS {
		return nil, fmt.Errorf("store: s3: a KMS key ID needs SSE %q, not %q", SSEKMS, o.SSE)
	}
	if (o.AccessKey == "") != (o.SecretKey == "") {
		return nil, errors.New("store: s3: set both the access key and the secret key, or neither")
	}
	if o.Endpoint != "" {
		u, err := url.Parse(o.Endpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("store: s3: endpoint %q is not an absolute http(s) URL", o.Endpoint)
		}
	}
	region := o.Region
	if region == "" {
		region = DefaultS3Region
	}

	loaders := []func(*config.LoadOptions) error{config.WithRegion(region)}
	if o.AccessKey != "" {
		loaders = append(loaders, config.WithCredentialsProvider(
			credentials.NewStaticCredentialsProvider(o.AccessKey, o.SecretKey, "")))
	}
	cfg, err := config.LoadDefaultConfig(ctx, loaders...)
	if err != nil {
		return nil, fmt.Errorf("store: s3: load AWS config: %w", err)
	}
	client := s3.NewFromConfig(cfg, func(so *s3.Options) {
		if o.Endpoint != "" {
			so.BaseEndpoint = aws.String(o.Endpoint)
		}
		so.UsePathStyle = o.PathStyle
		// Objects written by multipart uploads elsewhere carry no whole-object
		// checksum; that is expected and not worth a warning on every Get.
		so.DisableLogOutputChecksumValidationSkipped = true
	})
	return &S3Store{client: client, bucket: o.Bucket, prefix: prefix, sse: sse, kmsKey: o.KMSKeyID}, nil
}

// URL implements Store.
func (s *S3Store) URL() string {
	if s.prefix == "" {
		return "s3://" + s.bucket
	}
	return "s3://" + s.bucket + "/" + s.prefix
}

// objectKey is the bucket key for a store key.
func (s *S3Store) objectKey(key string) string {
	if s.prefix == "" {
		return key
	}
	return s.prefix + "/" + key
}

// where names key for error messages.
func (s *S3Store) where(key string) string { return s.URL() + "/" + key }

// Put implements Store. A reader that is not seekable is first spooled to a
// temporary file, so that the request carries a known length and a checksum
// (and can be retried); a seekable one is sent from its current offset.
func (s *S3Store) Put(ctx context.Context, key string, r io.Reader) error {
	if err := ValidateKey(key); err != nil {
		return err
	}
	body, size, cleanup, err := seekableBody(ctx, r)
	if err != nil {
		return fmt.Errorf("store: put %s: %w", s.where(key), err)
	}
	defer cleanup()
	if size > MaxS3PutSize {
		return fmt.Errorf("store: put %s: %d bytes exceeds the %d-byte limit of one S3 PUT", s.where(key), size, int64(MaxS3PutSize))
	}
	in := &s3.PutObjectInput{
		Bucket:        aws.String(s.bucket),
		Key:           aws.String(s.objectKey(key)),
		Body:          body,
		ContentLength: aws.Int64(size),
	}
	if s.sse != "" {
		in.ServerSideEncryption = s.sse
		if s.kmsKey != "" {
			in.SSEKMSKeyId = aws.String(s.kmsKey)
		}
	}
	if _, err := s.client.PutObject(ctx, in); err != nil {
		return fmt.Errorf("store: put %s: %w", s.where(key), err)
	}
	return nil
}

// seekableBody returns r as an io.ReadSeeker positioned where r was, with the
// number of bytes left in it. A reader that cannot seek is copied to a temporary
// file, removed by cleanup.
func seekableBody(ctx context.Context, r io.Reader) (io.ReadSeeker, int64, func(), error) {
	if rs, ok := r.(io.ReadSeeker); ok {
		// Some seekers (an *os.File on a pipe) only fail when asked to seek.
		if cur, err := rs.Seek(0, io.SeekCurrent); err == nil {
			end, err := rs.Seek(0, io.SeekEnd)
			if err != nil {
				return nil, 0, nil, fmt.Errorf("measure body: %w", err)
			}
			if _, err := rs.Seek(cur, io.SeekStart); err != nil {
				return nil, 0, nil, fmt.Errorf("measure body: %w", err)
			}
			return rs, end - cur, func() {}, nil
		}
	}
	f, err := os.CreateTemp("", "icesurvey-s3-put-*")
	if err != nil {
		return nil, 0, nil, fmt.Errorf("spool body: %w", err)
	}
	cleanup := func() {
		f.Close()
		os.Remove(f.Name())
	}
	n, err := io.Copy(f, readerWithContext(ctx, r))
	if err == nil {
		_, err = f.Seek(0, io.SeekStart)
	}
	if err != nil {
		cleanup()
		return nil, 0, nil, fmt.Errorf("spool body: %w", err)
	}
	return f, n, cleanup, nil
}

// Get implements Store.
func (s *S3Store) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	if err := ValidateKey(key); err != nil {
		return nil, err
	}
	out, err := s.client.GetObject(ctx, &s3.GetObjectInput{
		Bucket: aws.String(s.bucket),
		Key:    aws.String(s.objectKey(key)),
	})
	if err != nil {
		return nil, s.opError("get", key, err)
	}
	return out.Body, nil
}

// Stat implements Store.
func (s *S3Store) Stat(ctx context.Context, key string) (Info, error) {
	if err := ValidateKey(key); err != nil {
		return Info{}, err
	}
	out, err := s.client.HeadObject(ctx, &s3.HeadObjectInput{
		Bucket: aws.String(s.bucket),
		Key:    aws.String(s.objectKey(key)),
	})
	if err != nil {
		return Info{}, s.opError("stat", key, err)
	}
	return Info{Key: key, Size: aws.ToInt64(out.ContentLength), ModTime: aws.ToTime(out.LastModified)}, nil
}

// List implements Store. Keys ending in "/" (directory markers some tools and
// servers create) are not objects of this store and are left out.
func (s *S3Store) List(ctx context.Context, prefix string) ([]Info, error) {
	if err := validatePrefix(prefix); err != nil {
		return nil, err
	}
	root := ""
	if s.prefix != "" {
		root = s.prefix + "/"
	}
	p := s3.NewListObjectsV2Paginator(s.client, &s3.ListObjectsV2Input{
		Bucket: aws.String(s.bucket),
		Prefix: aws.String(root + prefix),
	})
	var out []Info
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("store: list %s/%s: %w", s.URL(), prefix, err)
		}
		for _, obj := range page.Contents {
			k, ok := strings.CutPrefix(aws.ToString(obj.Key), root)
			if !ok || k == "" || strings.HasSuffix(k, "/") {
				continue
			}
			out = append(out, Info{Key: k, Size: aws.ToInt64(obj.Size), ModTime: aws.ToTime(obj.LastModified)})
		}
	}
	// S3 lists in UTF-8 byte order, which is Go's string order; sort anyway so
	// the contract does not rest on every S3-compatible server getting it right.
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, nil
}

// Delete implements Store. S3 answers a delete of a missing key with success;
// a NoSuchKey from a stricter server is treated the same way.
func (s *S3Store) Delete(ctx context.Context, key string) error {
	if err := ValidateKey(key); err != nil {
		return err
	}
	_, err := s.client.DeleteObject(ctx, &s3.DeleteObjectInput{
		Bucket: aws.String(s.bucket),
		Key:    aws.String(s.objectKey(key)),
	})
	if err != nil {
		if err := s.opError("delete", key, err); !errors.Is(err, ErrNotExist) {
			return err
		}
	}
	return nil
}

// opError wraps an SDK error for op on key, as ErrNotExist when the object is missing.
func (s *S3Store) opError(op, key string, err error) error {
	if isNotFound(err) {
		return fmt.Errorf("store: %s %s: %w", op, s.where(key), ErrNotExist)
	}
	return fmt.Errorf("store: %s %s: %w", op, s.where(key), err)
}

// isNotFound reports whether err says the object does not exist: a NoSuchKey
// error, or a 404 without a more specific code (HEAD responses have no body, so
// the SDK reports them as NotFound). A missing bucket is a configuration error,
// not a missing object, and is not matched.
func isNotFound(err error) bool {
	var nsk *types.NoSuchKey
	var nf *types.NotFound
	if errors.As(err, &nsk) || errors.As(err, &nf) {
		return true
	}
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		switch apiErr.ErrorCode() {
		case "NoSuchKey", "NotFound":
			return true
		case "NoSuchBucket":
			return false
		}
	}
	var respErr *awshttp.ResponseError
	if errors.As(err, &respErr) && respErr.HTTPStatusCode() == http.StatusNotFound {
		return apiErr == nil || apiErr.ErrorCode() == ""
	}
	return false
}
