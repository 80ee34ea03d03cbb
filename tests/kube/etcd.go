package main

import (
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"strconv"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// freeLoopbackPorts returns n TCP ports that were free on 127.0.0.1 a moment ago.
func freeLoopbackPorts(n int) ([]int, error) {
	var ports []int
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	for i := 0; i < n; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// startEtcd starts a single-member embedded etcd on loopback ports with its
// data in dir. The returned URL is the client URL to hand to the apiserver.
func startEtcd(dir string, verbose bool) (*embed.Etcd, string, zap.AtomicLevel, error) {
	var lastErr error
	for attempt := 0; attempt < 5; attempt++ {
		ports, err := freeLoopbackPorts(2)
		if err != nil {
			return nil, "", zap.AtomicLevel{}, err
		}
		cfg := embed.NewConfig()
		cfg.Name = "osp-test"
		cfg.Dir = filepath.Join(dir, fmt.Sprintf("etcd-%d", attempt))
		cfg.UnsafeNoFsync = true // throw-away single-member test store
		clientURL := url.URL{Scheme: "http", Host: net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[0]))}
		peerURL := url.URL{Scheme: "http", Host: net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[1]))}
		cfg.ListenClientUrls = []url.URL{clientURL}
		cfg.AdvertiseClientUrls = []url.URL{clientURL}
		cfg.ListenPeerUrls = []url.URL{peerURL}
		cfg.AdvertisePeerUrls = []url.URL{peerURL}
		cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
		cfg.ListenMetricsUrls = nil
		level := zapcore.ErrorLevel
		if verbose {
			level = zapcore.InfoLevel
		}
		zcfg := zap.NewProductionConfig()
		zcfg.Level = zap.NewAtomicLevelAt(level)
		zcfg.OutputPaths = []string{"stderr"}
		zcfg.ErrorOutputPaths = []string{"stderr"}
		zl, err := zcfg.Build()
		if err != nil {
			return nil, "", zap.AtomicLevel{}, err
		}
		cfg.ZapLoggerBuilder = embed.NewZapLoggerBuilder(zl.Named("etcd"))

		e, err := embed.StartEtcd(cfg)
		if err != nil {
			lastErr = err // most likely a port race; try other ports
			continue
		}
		select {
		case <-e.Server.ReadyNotify():
			return e, clientURL.String(), zcfg.Level, nil
		case <-time.After(60 * time.Second):
			e.Close()
			return nil, "", zap.AtomicLevel{}, fmt.Errorf("embedded etcd took too long to start")
		}
	}
	return nil, "", zap.AtomicLevel{}, fmt.Errorf("starting embedded etcd: %w", lastErr)
}
