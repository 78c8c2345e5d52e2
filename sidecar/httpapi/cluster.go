package httpapi

import "context"

// cluster is /status's view of every sidecar together, from the operations
// views: queue stats with throughput, the newest failures, sidecars with their
// heartbeats, and flags. Recipients are left out: /status is for monitoring,
// and the dashboard (behind its token) shows them.
func (d Deps) cluster(ctx context.Context) any {
	o, err := d.Ops.Overview(ctx, 20)
	if err != nil {
		return map[string]string{"error": err.Error()}
	}
	for i := range o.Failures {
		o.Failures[i].Recipient = nil
	}
	return o
}
