package store

import (
	"context"
	"errors"
)

// S3Options configures the S3 backend. (Placeholder: replaced by the S3 implementation.)
type S3Options struct {
	Bucket, Prefix string
}

// S3OptionsFromEnv reads S3 settings from the environment.
func S3OptionsFromEnv() S3Options { return S3Options{} }

// NewS3Store opens an S3 store.
func NewS3Store(ctx context.Context, o S3Options) (Store, error) {
	return nil, errors.New("store: s3 backend not built yet")
}
