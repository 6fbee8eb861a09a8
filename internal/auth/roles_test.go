package auth

import "testing"

func TestRolesAdmitted(t *testing.T) {
	cases := []struct {
		want []Role
		have Role
		ok   bool
	}{
		{[]Role{RoleLeader}, RoleLeader, true},
		{[]Role{RoleLeader}, RoleAdmin, false}, // admins do not act as leaders
		{[]Role{RoleOps}, RoleAdmin, true},
		{[]Role{RoleOps}, RoleWarehouse, false},
		{[]Role{RoleWarehouse, RoleOps}, RoleWarehouse, true},
		{[]Role{RoleAdmin}, RoleOps, false},
	}
	for _, c := range cases {
		if got := admits(c.want, c.have); got != c.ok {
			t.Errorf("admits(%v, %s) = %v", c.want, c.have, got)
		}
	}
	if HashToken("gb_a") == nil || string(HashToken("gb_a")) == string(HashToken("gb_b")) {
		t.Error("token hashes collide")
	}
}
