// Package infra connects to the infrastructure the pipeline runs on: clients for a
// Temporal cluster (Dial) and the namespace's search attributes. The embedded server and
// Web UI of the dev stack are in infra/devserver, which the production build does not
// link.
package infra

import (
	"context"
	"errors"
	"fmt"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"icesurvey/workflows"
)

// Namespace is the Temporal namespace the pipeline uses by default.
const Namespace = "icesurvey"

// SearchAttributes are registered on the namespace so waves can be listed and filtered
// (e.g. `WaveID = "w1" AND Stage = "mailing"`): the workflows' own, declared with them.
var SearchAttributes = workflows.SearchAttributes()

// EnsureSearchAttributes registers SearchAttributes on an external cluster's namespace;
// attributes already there are left alone.
func EnsureSearchAttributes(ctx context.Context, c client.Client, namespace string) error {
	resp, err := c.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: namespace})
	if err != nil {
		return fmt.Errorf("temporal: list search attributes: %w", err)
	}
	missing := map[string]enumspb.IndexedValueType{}
	for name, t := range SearchAttributes {
		if _, ok := resp.GetCustomAttributes()[name]; !ok {
			missing[name] = t
		}
	}
	if len(missing) == 0 {
		return nil
	}
	_, err = c.OperatorService().AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{
		Namespace: namespace, SearchAttributes: missing,
	})
	var exists *serviceerror.AlreadyExists
	if err != nil && !errors.As(err, &exists) {
		return fmt.Errorf("temporal: add search attributes: %w", err)
	}
	return nil
}
