def test_index_renders(client, make_board):
    make_board("running", "跑步")
    response = client.get("/")
    assert response.status_code == 200
    assert "跑步" in response.get_data(as_text=True)
