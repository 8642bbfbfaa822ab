package bytemark

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// Ping checks that the client can log in and that the API answers, by
// listing accounts.
func (c *Client) Ping(ctx context.Context) error {
	_, err := c.Accounts(ctx)
	return err
}

// Accounts lists the accounts the login can see.
//
// Bytemark API docs: GET /accounts (an array).
func (c *Client) Accounts(ctx context.Context) ([]Account, error) {
	req, err := c.NewRequest(ctx, http.MethodGet, "accounts", nil)
	if err != nil {
		return nil, err
	}
	var accounts []Account
	if err := c.Do(req, &accounts); err != nil {
		return nil, err
	}
	return accounts, nil
}

// Groups lists the groups of account ("" for the default account).
//
// Bytemark API docs: GET /accounts/{account}/groups.
func (c *Client) Groups(ctx context.Context, account string) ([]Group, error) {
	account, err := c.accountOrDefault(ctx, account)
	if err != nil {
		return nil, err
	}
	req, err := c.NewRequest(ctx, http.MethodGet, accountPath(account)+"/groups", nil)
	if err != nil {
		return nil, err
	}
	var groups []Group
	if err := c.Do(req, &groups); err != nil {
		return nil, err
	}
	return groups, nil
}

// AccountOverview reads account ("" for the default account) with its
// groups and their servers, deleted ones too (Server.Deleted), in one
// call: what "list" shows, and where a name that isn't found might be.
//
// Bytemark API docs: GET /accounts/{account}?view=overview&include_deleted=true.
func (c *Client) AccountOverview(ctx context.Context, account string) (*Account, error) {
	account, err := c.accountOrDefault(ctx, account)
	if err != nil {
		return nil, err
	}
	acc := new(Account)
	if err := c.call(ctx, http.MethodGet, accountPath(account)+"?view=overview&include_deleted=true", nil, acc); err != nil {
		return nil, err
	}
	return acc, nil
}

// ResolveName parses a server name (see ParseName) and fills in the
// default group and account.
func (c *Client) ResolveName(ctx context.Context, s string) (Name, error) {
	n, err := ParseName(s)
	if err != nil {
		return Name{}, err
	}
	if n.Group == "" {
		n.Group = c.group
	}
	if n.Account == "" {
		if n.Account, err = c.defaultAccount(ctx); err != nil {
			return Name{}, err
		}
	}
	return n, nil
}

// defaultAccount returns the configured account or, failing that, the
// first account the login can see, looked up once and cached.
func (c *Client) defaultAccount(ctx context.Context) (string, error) {
	return c.shared(ctx, &c.accountReq,
		func() (string, bool) { return c.account, c.account != "" },
		func(ctx context.Context) (string, error) {
			accounts, err := c.Accounts(ctx)
			if err != nil {
				return "", fmt.Errorf("bytemark: looking up the default account: %w", err)
			}
			if len(accounts) == 0 || accounts[0].Name == "" {
				return "", errors.New("bytemark: no default account: the login can see no accounts, so configure one")
			}
			name := strings.ToLower(accounts[0].Name)
			if err := checkLabel(name); err != nil {
				return "", fmt.Errorf("bytemark: default account %q: %w", accounts[0].Name, err)
			}
			c.log.InfoContext(ctx, "bytemark: using the first account as the default", "account", name)
			return name, nil
		},
		func(a string) { c.account = a },
	)
}

// Definitions returns the API's lists of valid values. It needs no login.
//
// Bytemark API docs: GET /definitions (an array of {"id", "data"}).
func (c *Client) Definitions(ctx context.Context) (*Definitions, error) {
	req, err := c.NewRequest(ctx, http.MethodGet, "definitions", nil)
	if err != nil {
		return nil, err
	}
	var raw []struct {
		ID   string          `json:"id"`
		Data json.RawMessage `json:"data"`
	}
	if err := c.do(req, &raw, false); err != nil {
		return nil, err
	}
	d := &Definitions{}
	lists := map[string]*[]string{
		"distributions":     &d.Distributions,
		"storage_grades":    &d.StorageGrades,
		"zone_names":        &d.ZoneNames,
		"hardware_profiles": &d.HardwareProfiles,
		"keymaps":           &d.Keymaps,
		"sendkeys":          &d.Sendkeys,
	}
	for _, def := range raw {
		if def.ID == "distribution_descriptions" {
			var descs map[string]string
			if json.Unmarshal(def.Data, &descs) == nil { // another shape is skipped
				d.DistributionDescriptions = descs
			}
			continue
		}
		dst, ok := lists[def.ID]
		var vals []string
		// A value of another shape is skipped like an unknown id.
		if ok && json.Unmarshal(def.Data, &vals) == nil {
			*dst = vals
		}
	}
	return d, nil
}

// accountOrDefault returns account, checked and lower-cased, or the
// default account when it is "".
func (c *Client) accountOrDefault(ctx context.Context, account string) (string, error) {
	if account == "" {
		return c.defaultAccount(ctx)
	}
	account = strings.ToLower(account)
	if err := checkLabel(account); err != nil {
		return "", fmt.Errorf("bytemark: invalid account %q: %w", account, err)
	}
	return account, nil
}
