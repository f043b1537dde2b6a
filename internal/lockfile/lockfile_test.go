package lockfile

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestAcquireExcludes: while a Lock is held, a second Acquire of the same
// file (here from the same process) is refused with the holder's process
// ID; once released, the file is empty and can be locked again.
func TestAcquireExcludes(t *testing.T) {
	if runtime.GOOS == "plan9" || runtime.GOOS == "js" || runtime.GOOS == "wasip1" {
		t.Skip("no locks on " + runtime.GOOS)
	}
	path := filepath.Join(t.TempDir(), "x.lock")
	l, err := Acquire(path)
	require.NoError(t, err)
	assert.Equal(t, path, l.Path())
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, strconv.Itoa(os.Getpid()), strings.TrimSpace(string(data)))

	_, err = Acquire(path)
	require.ErrorIs(t, err, ErrHeld)
	var he *HeldError
	require.ErrorAs(t, err, &he)
	assert.Equal(t, HeldError{Path: path, PID: os.Getpid()}, *he)
	assert.Equal(t, path+" is locked by process "+strconv.Itoa(os.Getpid()), err.Error())

	require.NoError(t, l.Release())
	require.NoError(t, l.Release(), "a second Release does nothing")
	data, err = os.ReadFile(path)
	require.NoError(t, err)
	assert.Empty(t, data, "no stale process ID")
	l2, err := Acquire(path)
	require.NoError(t, err)
	require.NoError(t, l2.Release())
}

// TestAcquireRefusesWhatIsNotARegularFile: a folder (or a FIFO, without
// waiting for a writer) where the lock file should be is refused.
func TestAcquireRefusesWhatIsNotARegularFile(t *testing.T) {
	dir := t.TempDir()
	_, err := Acquire(dir)
	require.Error(t, err)
	assert.Contains(t, err.Error(), dir)
	if fifo := filepath.Join(dir, "fifo"); mkfifo(fifo) == nil {
		done := make(chan error, 1)
		go func() { _, err := Acquire(fifo); done <- err }()
		select {
		case err := <-done:
			assert.EqualError(t, err, "lock: "+fifo+": it is a FIFO, not a regular file")
		case <-time.After(10 * time.Second):
			t.Fatal("Acquire of a FIFO waits for a writer")
		}
	}
}

// TestLockDiesWithItsProcess: a lock held by another process refuses
// Acquire with that process's ID, and is free again once the process is
// killed (no stale lock, although the file still names it).
func TestLockDiesWithItsProcess(t *testing.T) {
	const env = "LOCKFILE_TEST_HOLD"
	if path := os.Getenv(env); path != "" {
		_, err := Acquire(path)
		require.NoError(t, err)
		os.Stdout.WriteString("locked\n")
		time.Sleep(time.Minute) // until killed
		return
	}
	if testing.Short() {
		t.Skip("re-executes the test binary (under qemu it would need binfmt); the full run does")
	}
	if runtime.GOOS == "plan9" || runtime.GOOS == "js" || runtime.GOOS == "wasip1" {
		t.Skip("no locks on " + runtime.GOOS)
	}
	path := filepath.Join(t.TempDir(), "x.lock")
	cmd := exec.Command(os.Args[0], "-test.run=^TestLockDiesWithItsProcess$")
	cmd.Env = append(os.Environ(), env+"="+path)
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	defer cmd.Process.Kill()
	line, err := bufio.NewReader(out).ReadString('\n')
	require.NoError(t, err)
	require.Equal(t, "locked\n", line)

	_, err = Acquire(path)
	var he *HeldError
	require.ErrorAs(t, err, &he)
	assert.Equal(t, cmd.Process.Pid, he.PID)

	require.NoError(t, cmd.Process.Kill())
	_ = cmd.Wait()
	l, err := Acquire(path)
	require.NoError(t, err, "the lock of a killed process is free")
	require.NoError(t, l.Release())
}
