package sdk

import "time"

// ListFilesRequest lists the entries under Path in Root.
type ListFilesRequest struct {
	WorkspaceID string
	State       BackendState
	Root        string
	Path        string
}

// ListFilesResponse holds the entries.
type ListFilesResponse struct {
	Files []FileInfo
}

// FileInfo describes one entry.
type FileInfo struct {
	Path    string
	Size    int64
	Mode    uint32
	ModTime time.Time
	IsDir   bool
}

// ReadFileRequest names one file to read.
type ReadFileRequest struct {
	WorkspaceID string
	State       BackendState
	Root        string
	Path        string
}

// WriteFileRequest names one file to create or replace.
type WriteFileRequest struct {
	WorkspaceID string
	State       BackendState
	Root        string
	Path        string
	Mode        uint32
}

// WriteFileResponse reports the bytes written.
type WriteFileResponse struct {
	Size int64
}

// DeleteFileRequest names one file or directory to delete.
type DeleteFileRequest struct {
	WorkspaceID string
	State       BackendState
	Root        string
	Path        string
	Recursive   bool
}

// DeleteFileResponse is empty today; it exists so fields can be added.
type DeleteFileResponse struct{}
