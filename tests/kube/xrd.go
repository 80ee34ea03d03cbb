package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/crossplane/crossplane-runtime/v2/pkg/xcrd"
	v1 "github.com/crossplane/crossplane/apis/v2/apiextensions/v1"
	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"
	extv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apiextclient "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
)

// xrdGVR is the storage version of Crossplane's XRD CRD. apiextensions.crossplane.io/v2
// XRDs are the same objects (conversion strategy None), so listing v1 sees both.
var xrdGVR = schema.GroupVersionResource{Group: "apiextensions.crossplane.io", Version: "v1", Resource: "compositeresourcedefinitions"}

// xrdState is what the controller remembers about one XRD (by UID).
type xrdState struct {
	name       string
	generation int64
	applied    bool     // CRDs for this generation were created/updated
	done       bool     // status written for this generation (success or failure)
	crdNames   []string // CRDs we created for it, deleted when the XRD goes away
	seen       time.Time
}

// xrdController plays the part of Crossplane's definition controller: for
// every XRD it renders the XR CRD (and the claim CRD) with Crossplane's own
// xcrd package, applies them, waits for them to be Established and then
// writes the Established/Offered conditions into the XRD status.
type xrdController struct {
	dyn   dynamic.Interface
	crds  apiextclient.Interface
	mu    sync.Mutex
	state map[types.UID]*xrdState

	lastListErr string
}

func newXRDController(dyn dynamic.Interface, crds apiextclient.Interface) *xrdController {
	return &xrdController{dyn: dyn, crds: crds, state: map[types.UID]*xrdState{}}
}

func (c *xrdController) run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		c.syncAll(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (c *xrdController) syncAll(ctx context.Context) {
	list, err := c.dyn.Resource(xrdGVR).List(ctx, metav1.ListOptions{})
	if err != nil {
		if ctx.Err() != nil {
			return
		}
		// NotFound: the XRD CRD is not installed (no --crds); keep polling quietly.
		if msg := err.Error(); !apierrors.IsNotFound(err) && msg != c.lastListErr {
			logf("listing XRDs: %v", err)
			c.lastListErr = msg
		}
		return
	}
	c.lastListErr = ""
	seen := map[types.UID]bool{}
	for i := range list.Items {
		u := &list.Items[i]
		seen[u.GetUID()] = true
		c.mu.Lock()
		st := c.state[u.GetUID()]
		if st == nil || st.generation != u.GetGeneration() {
			var keep []string
			if st != nil {
				keep = st.crdNames
			}
			st = &xrdState{name: u.GetName(), generation: u.GetGeneration(), crdNames: keep, seen: time.Now()}
			c.state[u.GetUID()] = st
		}
		done := st.done
		c.mu.Unlock()
		if done || u.GetDeletionTimestamp() != nil {
			continue
		}
		if err := c.reconcile(ctx, u, st); err != nil && ctx.Err() == nil {
			logf("XRD %s: %v", u.GetName(), err)
		}
	}
	// XRDs that disappeared: remove the CRDs we made for them (there is no
	// garbage collector in this server, so owner references alone do nothing).
	c.mu.Lock()
	var gone []*xrdState
	for uid, st := range c.state {
		if !seen[uid] {
			gone = append(gone, st)
			delete(c.state, uid)
		}
	}
	c.mu.Unlock()
	for _, st := range gone {
		for _, n := range st.crdNames {
			err := c.crds.ApiextensionsV1().CustomResourceDefinitions().Delete(ctx, n, metav1.DeleteOptions{})
			if err != nil && !apierrors.IsNotFound(err) && ctx.Err() == nil {
				logf("deleting CRD %s of removed XRD %s: %v", n, st.name, err)
			}
		}
	}
}

func (c *xrdController) reconcile(ctx context.Context, u *unstructured.Unstructured, st *xrdState) error {
	xrd := &v1.CompositeResourceDefinition{}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, xrd); err != nil {
		return c.fail(ctx, u, st, fmt.Errorf("cannot decode XRD: %w", err))
	}

	var want []*extv1.CustomResourceDefinition
	xr, err := xcrd.ForCompositeResource(xrd)
	if err != nil {
		return c.fail(ctx, u, st, fmt.Errorf("cannot render composite resource CRD: %w", err))
	}
	want = append(want, xr)
	if xrd.OffersClaim() {
		claim, err := xcrd.ForCompositeResourceClaim(xrd)
		if err != nil {
			return c.fail(ctx, u, st, fmt.Errorf("cannot render composite resource claim CRD: %w", err))
		}
		want = append(want, claim)
	}

	if !st.applied {
		for _, crd := range want {
			if err := c.applyCRD(ctx, crd, xrd.GetUID()); err != nil {
				if apierrors.IsConflict(err) || isTransient(err) {
					return err // retry on the next tick
				}
				return c.fail(ctx, u, st, err)
			}
			c.mu.Lock()
			if !contains(st.crdNames, crd.GetName()) {
				st.crdNames = append(st.crdNames, crd.GetName())
			}
			c.mu.Unlock()
		}
		st.applied = true
	}

	for _, crd := range want {
		got, err := c.crds.ApiextensionsV1().CustomResourceDefinitions().Get(ctx, crd.GetName(), metav1.GetOptions{})
		if err != nil {
			return err
		}
		if !xcrd.IsEstablished(got.Status) {
			for _, cond := range got.Status.Conditions {
				if cond.Type == extv1.NamesAccepted && cond.Status == extv1.ConditionFalse {
					return c.fail(ctx, u, st, fmt.Errorf("CRD %s: names not accepted: %s", crd.GetName(), cond.Message))
				}
			}
			return nil // not yet; look again on the next tick
		}
	}

	// All CRDs are established: report it like Crossplane's definition controller.
	gen := xrd.GetGeneration()
	xrd.Status.SetConditions(v1.WatchingComposite().WithObservedGeneration(gen), xpv2.ReconcileSuccess().WithObservedGeneration(gen))
	xrd.Status.Controllers.CompositeResourceTypeRef = v1.TypeReferenceTo(xrd.GetCompositeGroupVersionKind())
	if xrd.OffersClaim() {
		xrd.Status.SetConditions(v1.WatchingClaim().WithObservedGeneration(gen))
		xrd.Status.Controllers.CompositeResourceClaimTypeRef = v1.TypeReferenceTo(xrd.GetClaimGroupVersionKind())
	}
	if err := c.writeStatus(ctx, u, &xrd.Status); err != nil {
		return err
	}
	c.mu.Lock()
	st.done = true
	c.mu.Unlock()
	logf("XRD %s established (%d CRDs) in %s", u.GetName(), len(want), time.Since(st.seen).Round(time.Millisecond))
	return nil
}

// fail records a reconcile error in the XRD's Synced condition (as
// Crossplane does) and stops retrying until the XRD's spec changes.
func (c *xrdController) fail(ctx context.Context, u *unstructured.Unstructured, st *xrdState, cause error) error {
	xrd := &v1.CompositeResourceDefinition{}
	_ = runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, xrd)
	xrd.Status.SetConditions(xpv2.ReconcileError(cause).WithObservedGeneration(u.GetGeneration()))
	if err := c.writeStatus(ctx, u, &xrd.Status); err != nil {
		return fmt.Errorf("%v (and writing status: %v)", cause, err)
	}
	c.mu.Lock()
	st.done = true
	c.mu.Unlock()
	return cause
}

func (c *xrdController) writeStatus(ctx context.Context, u *unstructured.Unstructured, s *v1.CompositeResourceDefinitionStatus) error {
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(s)
	if err != nil {
		return err
	}
	obj := u.DeepCopy()
	obj.Object["status"] = m
	_, err = c.dyn.Resource(xrdGVR).UpdateStatus(ctx, obj, metav1.UpdateOptions{})
	return err
}

// applyCRD creates the CRD or updates it when it is controlled by the same XRD.
func (c *xrdController) applyCRD(ctx context.Context, want *extv1.CustomResourceDefinition, owner types.UID) error {
	api := c.crds.ApiextensionsV1().CustomResourceDefinitions()
	got, err := api.Get(ctx, want.GetName(), metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		_, err = api.Create(ctx, want, metav1.CreateOptions{})
		if err != nil {
			return fmt.Errorf("cannot create CRD %s: %w", want.GetName(), err)
		}
		return nil
	}
	if err != nil {
		return err
	}
	if ref := metav1.GetControllerOf(got); ref == nil || ref.UID != owner {
		return fmt.Errorf("cannot apply CRD %s: it exists and is not controlled by this XRD", want.GetName())
	}
	got.Spec = want.Spec
	if got.Labels == nil {
		got.Labels = map[string]string{}
	}
	for k, v := range want.Labels {
		got.Labels[k] = v
	}
	if len(want.Annotations) > 0 && got.Annotations == nil {
		got.Annotations = map[string]string{}
	}
	for k, v := range want.Annotations {
		got.Annotations[k] = v
	}
	if _, err := api.Update(ctx, got, metav1.UpdateOptions{}); err != nil {
		if apierrors.IsConflict(err) {
			return err
		}
		return fmt.Errorf("cannot update CRD %s: %w", want.GetName(), err)
	}
	return nil
}

func isTransient(err error) bool {
	return apierrors.IsServerTimeout(err) || apierrors.IsTimeout(err) || apierrors.IsTooManyRequests(err) ||
		apierrors.IsServiceUnavailable(err) || apierrors.IsInternalError(err)
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// xrdOutcome reports whether the XRD has been handled: established (true,
// "") or failed (true, message from the Synced condition).
func xrdOutcome(u *unstructured.Unstructured) (bool, string) {
	conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	established := false
	failure := ""
	for _, ci := range conds {
		cm, ok := ci.(map[string]any)
		if !ok {
			continue
		}
		if og, ok := cm["observedGeneration"].(int64); ok && og != u.GetGeneration() {
			continue
		}
		switch cm["type"] {
		case "Established":
			established = cm["status"] == "True"
		case "Synced":
			if cm["status"] == "False" {
				failure, _ = cm["message"].(string)
				if failure == "" {
					failure = "reconcile error"
				}
			}
		}
	}
	if established {
		return true, ""
	}
	if failure != "" {
		return true, failure
	}
	return false, ""
}
