package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	extv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apiextclient "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/restmapper"
)

// readManifests returns every non-empty object in a YAML/JSON file (multi-document YAML allowed).
func readManifests(path string) ([]*unstructured.Unstructured, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	var out []*unstructured.Unstructured
	for {
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if len(m) == 0 {
			continue
		}
		u := &unstructured.Unstructured{Object: m}
		if u.GetKind() == "" || u.GetAPIVersion() == "" {
			return nil, fmt.Errorf("%s: document without apiVersion/kind", path)
		}
		if u.GetKind() == "List" {
			items, _, _ := unstructured.NestedSlice(m, "items")
			for _, it := range items {
				if im, ok := it.(map[string]any); ok {
					out = append(out, &unstructured.Unstructured{Object: im})
				}
			}
			continue
		}
		out = append(out, u)
	}
	return out, nil
}

// manifestFiles lists *.yaml, *.yml and *.json files in dir (not recursive), sorted.
func manifestFiles(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var files []string
	for _, e := range ents {
		if e.IsDir() {
			continue
		}
		switch strings.ToLower(filepath.Ext(e.Name())) {
		case ".yaml", ".yml", ".json":
			files = append(files, filepath.Join(dir, e.Name()))
		}
	}
	sort.Strings(files)
	return files, nil
}

// applier creates or updates arbitrary objects through the dynamic client.
type applier struct {
	dyn    dynamic.Interface
	mapper *restmapper.DeferredDiscoveryRESTMapper
}

func newApplier(dyn dynamic.Interface, disc discovery.DiscoveryInterface) *applier {
	return &applier{dyn: dyn, mapper: restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(disc))}
}

// wellKnown maps the kinds this tool always applies without asking discovery
// (which lags behind a freshly established CRD by a second or two).
var wellKnown = map[schema.GroupKind]struct {
	resource   string
	namespaced bool
}{
	{Group: "apiextensions.k8s.io", Kind: "CustomResourceDefinition"}:           {"customresourcedefinitions", false},
	{Group: "apiextensions.crossplane.io", Kind: "CompositeResourceDefinition"}: {"compositeresourcedefinitions", false},
	{Group: "apiextensions.crossplane.io", Kind: "Composition"}:                 {"compositions", false},
	{Group: "", Kind: "Namespace"}:                                              {"namespaces", false},
}

func (a *applier) apply(ctx context.Context, u *unstructured.Unstructured) (*unstructured.Unstructured, error) {
	gvk := u.GroupVersionKind()
	var mapping *meta.RESTMapping
	if wk, ok := wellKnown[gvk.GroupKind()]; ok {
		scope := meta.RESTScopeRoot
		if wk.namespaced {
			scope = meta.RESTScopeNamespace
		}
		mapping = &meta.RESTMapping{Resource: gvk.GroupVersion().WithResource(wk.resource), GroupVersionKind: gvk, Scope: scope}
	}
	// A kind installed moments ago may not be in discovery yet: reset and retry briefly.
	err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		if mapping != nil {
			return true, nil
		}
		m, err := a.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
		if err != nil {
			if meta.IsNoMatchError(err) {
				a.mapper.Reset()
				return false, nil
			}
			return false, err
		}
		mapping = m
		return true, nil
	})
	if err != nil {
		return nil, fmt.Errorf("no API for %s: %w", gvk, err)
	}
	var ri dynamic.ResourceInterface = a.dyn.Resource(mapping.Resource)
	if mapping.Scope.Name() == meta.RESTScopeNameNamespace {
		ns := u.GetNamespace()
		if ns == "" {
			ns = "default"
			u.SetNamespace(ns)
		}
		ri = a.dyn.Resource(mapping.Resource).Namespace(ns)
	}
	for attempt := 0; ; attempt++ {
		created, err := ri.Create(ctx, u, metav1.CreateOptions{})
		if err == nil {
			return created, nil
		}
		if !apierrors.IsAlreadyExists(err) {
			return nil, fmt.Errorf("create %s %s: %w", gvk.Kind, u.GetName(), err)
		}
		cur, err := ri.Get(ctx, u.GetName(), metav1.GetOptions{})
		if err != nil {
			return nil, err
		}
		obj := u.DeepCopy()
		obj.SetResourceVersion(cur.GetResourceVersion())
		updated, err := ri.Update(ctx, obj, metav1.UpdateOptions{})
		if err == nil {
			return updated, nil
		}
		if !apierrors.IsConflict(err) || attempt > 5 {
			return nil, fmt.Errorf("update %s %s: %w", gvk.Kind, u.GetName(), err)
		}
	}
}

// waitCRDsEstablished waits until every named CRD has Established=True.
func waitCRDsEstablished(ctx context.Context, c apiextclient.Interface, names []string, timeout time.Duration) error {
	for _, n := range names {
		err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
			crd, err := c.ApiextensionsV1().CustomResourceDefinitions().Get(ctx, n, metav1.GetOptions{})
			if err != nil {
				return false, nil
			}
			for _, cond := range crd.Status.Conditions {
				if cond.Type == extv1.NamesAccepted && cond.Status == extv1.ConditionFalse {
					return false, fmt.Errorf("CRD %s: names not accepted: %s", n, cond.Message)
				}
				if cond.Type == extv1.Established && cond.Status == extv1.ConditionTrue {
					return true, nil
				}
			}
			return false, nil
		})
		if err != nil {
			return fmt.Errorf("waiting for CRD %s to be Established: %w", n, err)
		}
	}
	return nil
}

// waitXRDHandled waits until the XRD controller established the XRD or recorded a failure.
func waitXRDHandled(ctx context.Context, dyn dynamic.Interface, name string, timeout time.Duration) error {
	var failure string
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		u, err := dyn.Resource(xrdGVR).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		ok, msg := xrdOutcome(u)
		failure = msg
		return ok, nil
	})
	if err != nil {
		return fmt.Errorf("waiting for XRD %s to be Established: %w", name, err)
	}
	if failure != "" {
		return fmt.Errorf("XRD %s was not established: %s", name, failure)
	}
	return nil
}
