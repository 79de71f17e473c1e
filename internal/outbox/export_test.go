package outbox

import (
	"context"
	"sync"
)

// DeliverDue runs one round of Run: it claims up to Workers due messages
// of each kind and delivers them, returning once every outcome is
// recorded.
func (o *Outbox) DeliverDue(ctx context.Context) (int, error) {
	n := 0
	var wg sync.WaitGroup
	defer wg.Wait()
	for _, kind := range o.names {
		batch, err := o.claimDue(ctx, kind, o.Workers)
		if err != nil {
			return n, err
		}
		n += len(batch)
		for _, m := range batch {
			wg.Go(func() { o.deliver(ctx, m) })
		}
	}
	return n, nil
}
