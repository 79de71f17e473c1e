package devicelinks

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"

	"github.com/linkbox/linkbox/internal/db"
	"github.com/linkbox/linkbox/internal/httpx"
)

// userData is a supplier user's mapping as GET /users/{id} answers it.
type userData struct {
	NoxUserID      string   `json:"nox_user_id"`
	SupplierUserID string   `json:"supplier_user_id"`
	Manufacturer   string   `json:"manufacturer"`
	Devices        []Device `json:"devices"`
	ConnectedAt    int64    `json:"connected_at"`
}

func (s *Service) mapping(ctx context.Context, q db.Querier, supplierID, userID string) (userData, error) {
	u := userData{SupplierUserID: userID}
	var devices string
	var connected int64
	err := q.QueryRow(ctx, `SELECT m.nox_user_id, o.brand, m.devices, m.connected_at FROM devicelinks_mappings m
		JOIN devicelinks_manufacturers o ON o.client_id = m.manufacturer_id
		WHERE m.supplier_id = ? AND m.supplier_user_id = ?`, supplierID, userID).Scan(&u.NoxUserID, &u.Manufacturer, &devices, &connected)
	if errors.Is(err, db.ErrNotFound) {
		return userData{}, errUserNotFound
	}
	if err != nil {
		return userData{}, err
	}
	u.ConnectedAt = connected / 1000
	return u, json.Unmarshal([]byte(devices), &u.Devices)
}

func (s *Service) handleGetUser(w http.ResponseWriter, r *http.Request, sup Supplier) error {
	u, err := s.mapping(r.Context(), s.db, sup.ID, r.PathValue("supplier_user_id"))
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, okBody{Success: true, Timestamp: s.now().Unix(), Data: u})
	return nil
}

// handleDeleteDevice removes one device from the user's mapping; the
// mapping goes with its last device.
func (s *Service) handleDeleteDevice(w http.ResponseWriter, r *http.Request, sup Supplier) error {
	userID, deviceID := r.PathValue("supplier_user_id"), r.PathValue("device_id")
	var u userData
	err := s.db.InTx(r.Context(), func(ctx context.Context, tx *db.Tx) error {
		// The row is locked before it is read (a write that changes
		// nothing): on PostgreSQL a racing delete then reads what this one
		// left, not what both saw.
		_, err := tx.Exec(ctx, `UPDATE devicelinks_mappings SET devices = devices WHERE supplier_id = ? AND supplier_user_id = ?`, sup.ID, userID)
		if err != nil {
			return err
		}
		if u, err = s.mapping(ctx, tx, sup.ID, userID); err != nil {
			return err
		}
		i := slices.IndexFunc(u.Devices, func(d Device) bool { return d.ID == deviceID })
		if i < 0 {
			return errDeviceNotFound
		}
		u.Devices = slices.Delete(u.Devices, i, i+1)
		if len(u.Devices) == 0 {
			_, err = tx.Exec(ctx, `DELETE FROM devicelinks_mappings WHERE supplier_id = ? AND supplier_user_id = ?`, sup.ID, userID)
		} else {
			err = s.setDevices(ctx, tx, sup.ID, userID, u.Devices)
		}
		if err != nil {
			return err
		}
		return s.emit(ctx, tx, sup.ID, EventDeviceRemoved, linkResult{NoxUserID: u.NoxUserID, SupplierUserID: userID,
			Manufacturer: u.Manufacturer, DeviceID: deviceID, Devices: u.Devices})
	})
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, okBody{Success: true, Timestamp: s.now().Unix(), Data: u})
	return nil
}

func (s *Service) setDevices(ctx context.Context, tx *db.Tx, supplierID, userID string, devices []Device) error {
	raw, err := json.Marshal(devices)
	if err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `UPDATE devicelinks_mappings SET devices = ? WHERE supplier_id = ? AND supplier_user_id = ?`, string(raw), supplierID, userID)
	return err
}
